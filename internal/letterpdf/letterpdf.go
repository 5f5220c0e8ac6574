package letterpdf

import (
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/signintech/gopdf"

	"github.com/clau-eid/clau/internal/registration"
)

//go:embed fonts/DejaVuSans.ttf
var sansTTF []byte

//go:embed fonts/DejaVuSansMono.ttf
var monoTTF []byte

// Translate returns the text of a message ID in a language.
type Translate func(lang, id string, args map[string]any) string

// Printer lays out letters.
type Printer struct {
	T        Translate
	Location *time.Location // dates on letters; nil: UTC
}

// ErrEmpty is returned for a batch without letters.
var ErrEmpty = errors.New("letterpdf: no letters to print")

// A4 in points, with the margins and the address window of a DL window
// envelope (right-hand window, 45 mm from the top).
const (
	pageW, pageH = 595.28, 841.89
	margin       = 56.0
	windowX      = 312.0
	windowY      = 128.0
	textW        = pageW - 2*margin
)

// Batch renders every letter, one page each, as one PDF.
func (p *Printer) Batch(letters []registration.PrintLetter) ([]byte, error) {
	if len(letters) == 0 {
		return nil, ErrEmpty
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	pdf.SetInfo(gopdf.PdfInfo{Title: "Clau", Creator: "Clau", Producer: "Clau"})
	if err := pdf.AddTTFFontData("sans", sansTTF); err != nil {
		return nil, fmt.Errorf("letterpdf: font: %w", err)
	}
	if err := pdf.AddTTFFontData("mono", monoTTF); err != nil {
		return nil, fmt.Errorf("letterpdf: font: %w", err)
	}
	for i := range letters {
		if err := p.page(pdf, &letters[i]); err != nil {
			return nil, fmt.Errorf("letterpdf: letter %s: %w", letters[i].ID, err)
		}
	}
	return pdf.GetBytesPdf(), nil
}

func (p *Printer) page(pdf *gopdf.GoPdf, l *registration.PrintLetter) error {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	lang := l.Language
	t := func(id string, args map[string]any) string { return p.T(lang, id, args) }
	img, err := qrImage(l.ActivateURL, 330)
	if err != nil {
		return err
	}
	pdf.AddPage()
	y := margin
	text := func(font string, size float64, x float64, s string) error {
		if err := pdf.SetFont(font, "", size); err != nil {
			return err
		}
		pdf.SetXY(x, y)
		if err := pdf.Cell(nil, s); err != nil {
			return err
		}
		y += size * 1.45
		return nil
	}
	width := textW
	para := func(size float64, s string) error {
		if err := pdf.SetFont("sans", "", size); err != nil {
			return err
		}
		lines, err := wrap(pdf, s, width)
		if err != nil {
			return err
		}
		for _, ln := range lines {
			pdf.SetXY(margin, y)
			if err := pdf.Cell(nil, ln); err != nil {
				return err
			}
			y += size * 1.4
		}
		y += size * 0.6
		return nil
	}

	// Sender.
	if err := text("sans", 14, margin, "Clau"); err != nil {
		return err
	}
	if err := text("sans", 9, margin, t("letter.pdf.sender", nil)); err != nil {
		return err
	}
	// Address window.
	y = windowY
	for _, ln := range append([]string{l.Recipient}, l.Address...) {
		if err := text("sans", 11, windowX, ln); err != nil {
			return err
		}
	}
	y = 260
	if err := text("sans", 10, margin, l.CreatedAt.In(loc).Format("02/01/2006")); err != nil {
		return err
	}
	y += 10
	if err := text("sans", 16, margin, t("letter.pdf.title", nil)); err != nil {
		return err
	}
	y += 4
	// The QR code sits at the right of the text column, beside the code.
	qrSize := 110.0
	width = textW - qrSize - 20
	if err := pdf.ImageFrom(img, pageW-margin-qrSize, y, &gopdf.Rect{W: qrSize, H: qrSize}); err != nil {
		return err
	}
	if err := para(11, t("letter.pdf.intro", nil)); err != nil {
		return err
	}
	// The code, large, in a monospaced font so 0/O and 1/I read apart.
	pdf.SetLineWidth(1)
	pdf.RectFromUpperLeftWithStyle(margin, y, 300, 40, "D")
	y += 10
	if err := text("mono", 20, margin+14, l.Code); err != nil {
		return err
	}
	y += 12
	width = textW
	if err := para(10, t("letter.pdf.expires", map[string]any{"Date": l.ExpiresAt.In(loc).Format("02/01/2006")})); err != nil {
		return err
	}
	if err := para(11, t("letter.pdf.steps_title", nil)); err != nil {
		return err
	}
	for i, id := range []string{"letter.pdf.step1", "letter.pdf.step2", "letter.pdf.step3", "letter.pdf.step4"} {
		if err := para(10, fmt.Sprintf("%d. %s", i+1, t(id, map[string]any{"URL": l.ActivateURL}))); err != nil {
			return err
		}
	}
	y, width = pageH-margin-60, textW
	if err := para(9, t("letter.pdf.qr", map[string]any{"URL": l.ActivateURL})); err != nil {
		return err
	}
	return para(9, t("letter.pdf.footer", nil))
}

// qrImage encodes s as a QR code of size×size pixels in 8-bit gray: gopdf
// refuses the 16-bit image the encoder returns.
func qrImage(s string, size int) (image.Image, error) {
	code, err := qr.Encode(s, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	scaled, err := barcode.Scale(code, size, size)
	if err != nil {
		return nil, err
	}
	gray := image.NewGray(scaled.Bounds())
	draw.Draw(gray, gray.Bounds(), scaled, scaled.Bounds().Min, draw.Src)
	return gray, nil
}

// wrap breaks s into lines no wider than width in the current font.
func wrap(pdf *gopdf.GoPdf, s string, width float64) ([]string, error) {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		w, err := pdf.MeasureTextWidth(try)
		if err != nil {
			return nil, err
		}
		if w > width && line != "" {
			lines = append(lines, line)
			line = word
			continue
		}
		line = try
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines, nil
}
