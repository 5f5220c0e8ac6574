package letterpdf_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/i18n"
	"github.com/clau-eid/clau/internal/letterpdf"
	"github.com/clau-eid/clau/internal/registration"
)

// PDFText extracts a PDF's text with poppler's pdftotext, as an
// independent reader would; the test skips where it is not installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) not installed")
	}
	cmd := exec.Command(bin, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestBatchText(t *testing.T) {
	cat := i18n.MustLoad()
	p := &letterpdf.Printer{T: cat.T}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	batch := []registration.PrintLetter{
		{ID: "l1", Language: "ca", Recipient: "Núria Ibáñez Puig", Address: []string{"Carrer de la Pau 3, 2n 1a", "08001 Barcelona"},
			Code: "ABCD-EFGH-JKLM-NPQR", ActivateURL: "https://clau.example/activate", ExpiresAt: at.Add(45 * 24 * time.Hour), CreatedAt: at},
		{ID: "l2", Language: "es", Recipient: "Marcel·lí O'Neill", Address: []string{"Plaça Major 1", "17001 Girona"},
			Code: "STUV-WXYZ-2345-6789", ActivateURL: "https://clau.example/activate", ExpiresAt: at.Add(45 * 24 * time.Hour), CreatedAt: at},
	}
	pdf, err := p.Batch(batch)
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	pages := strings.Split(text, "\f")
	if len(pages) < 2 {
		t.Fatalf("want one page per letter, got %d:\n%s", len(pages), text)
	}
	for i, want := range [][]string{
		{"Núria Ibáñez Puig", "Carrer de la Pau 3, 2n 1a", "08001 Barcelona", "ABCD-EFGH-JKLM-NPQR", "16/04/2026",
			"El vostre codi d'activació de Clau", "https://clau.example/activate", "Com activar el registre"},
		{"Marcel·lí O'Neill", "17001 Girona", "STUV-WXYZ-2345-6789", "Su código de activación de Clau", "Cómo activar su registro"},
	} {
		for _, w := range want {
			if !strings.Contains(pages[i], w) {
				t.Errorf("page %d lacks %q:\n%s", i+1, w, pages[i])
			}
		}
	}
	if strings.Contains(pages[0], "STUV") {
		t.Errorf("letter 2's code is on letter 1's page")
	}
	if _, err := p.Batch(nil); err != letterpdf.ErrEmpty {
		t.Errorf("empty batch: %v", err)
	}
}
