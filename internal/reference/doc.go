// Package reference owns the administration's reference registry: the
// records (document, names, birth date, postal address, the document's
// check values) against which a citizen who asks for a registration letter
// is matched, and their import from CSV.
//
// The registry is kept apart from registered citizens: importing it
// registers nobody, and nothing here reads or writes citizens. An import
// is all or nothing: every row is checked first, and only a file without
// a rejected row is written, in one transaction.
package reference
