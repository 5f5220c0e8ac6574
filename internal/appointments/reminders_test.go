package appointments_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clau-eid/clau/internal/appointments"
	"github.com/clau-eid/clau/internal/fakeclock"
	"github.com/clau-eid/clau/internal/identity"
	"github.com/clau-eid/clau/internal/notify"
	"github.com/clau-eid/clau/internal/secure"
	"github.com/clau-eid/clau/internal/seed"
	"github.com/clau-eid/clau/internal/store"
	"github.com/clau-eid/clau/internal/store/sqlstore/sqltest"
)

// Four processes send reminders at once: each citizen with an appointment
// tomorrow gets exactly one, in their language; later ones get none yet.
func TestRemindersOncePerAppointment(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		st := sqltest.Open(t, driver)
		clk := fakeclock.New(time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)) // Monday evening
		o := &identity.Office{ID: store.NewID(), Code: "REM-" + driver[:2], Name: "OAC Girona", Address: "Plaça del Vi 1",
			PostalCode: "17004", Municipality: "Girona", Province: "Girona", Active: true}
		if err := st.CreateOffice(ctx, o); err != nil {
			t.Fatal(err)
		}
		kr, _ := secure.NewKeyring(nil, clk.Now())
		tm, _ := notify.LoadTemplates()
		loc, _ := time.LoadLocation("Europe/Madrid")
		proc := func() *appointments.Service {
			n := notify.NewNotifier(tm, []notify.Channel{notify.SMS, notify.Email}, clk.Now)
			s := appointments.New(st, kr, n, loc, clk.Now)
			s.BaseURL = "https://clau.example.org"
			return s
		}
		svc := proc()
		if _, err := svc.AddSlots(ctx, o.ID, clk.Now().AddDate(0, 0, 1), 2, appointments.Week{
			Days: []time.Weekday{time.Tuesday, time.Wednesday}, Open: "09:00", Close: "10:00", Every: 30 * time.Minute, Desks: 2}); err != nil {
			t.Fatal(err)
		}
		slots, _ := st.ListSlots(ctx, o.ID, clk.Now(), clk.Now().AddDate(0, 0, 3))
		if len(slots) != 4 {
			t.Fatalf("slots = %d", len(slots))
		}
		langs := []string{"ca", "es", "en"}
		for i, sl := range []int{0, 0, 1, 2} { // three tomorrow, one on Wednesday
			if _, err := svc.Book(ctx, o, appointments.Request{SlotID: slots[sl].ID, Document: seed.DNI(900 + i),
				Name: "Citizen", Mobile: seed.Mobile(900 + i), Language: langs[i%3]}); err != nil {
				t.Fatal(err)
			}
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := proc().SendReminders(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if total != 3 {
			t.Fatalf("reminders sent = %d, want 3", total)
		}
		if n, err := svc.SendReminders(ctx); n != 0 || err != nil {
			t.Fatalf("second run sent %d %v", n, err)
		}
		msgs, _ := st.ListMessages(ctx, 100)
		var reminders []string
		for _, m := range msgs {
			if strings.HasPrefix(m.EventKey, "appointment-reminder:") {
				reminders = append(reminders, m.Body)
			}
		}
		if len(reminders) != 3 {
			t.Fatalf("reminder messages = %d", len(reminders))
		}
		joined := strings.Join(reminders, "\n")
		for _, want := range []string{"us recordem la cita a OAC Girona (Plaça del Vi 1, Girona) el 03/03/2026 09:00",
			"le recordamos su cita", "reminder of your appointment", "https://clau.example.org/appointments/change"} {
			if !strings.Contains(joined, want) {
				t.Fatalf("reminders lack %q:\n%s", want, joined)
			}
		}
		// A day later Wednesday's citizen gets theirs.
		clk.Add(24 * time.Hour)
		if n, err := svc.SendReminders(ctx); n != 1 || err != nil {
			t.Fatalf("Tuesday's run sent %d %v", n, err)
		}
	})
}
