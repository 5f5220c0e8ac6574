// Package letterpdf prints registration letters: one A4 page per letter
// with the citizen's postal address, the activation code, instructions and
// a QR code to the activation page, in the citizen's language, and a day's
// batch as one PDF for the printing office.
//
// It only lays out what it is given: it reads no store and opens no
// sealed value. The fonts (DejaVu, Bitstream Vera licence, see
// fonts/LICENSE) are embedded so every letter looks the same everywhere.
package letterpdf
