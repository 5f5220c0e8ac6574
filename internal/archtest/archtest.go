// Package archtest holds no code: its tests check the shape of the whole
// project (every package documented, dependencies pointing inward, no
// machine paths), the rules of STYLE.md and DESIGN.md that a compiler does
// not enforce.
package archtest
