// Package offices publishes the registration offices: a directory page
// grouped by province or island with a search by municipality, a page per
// office, and the same data as open data (/offices.json, /offices.csv).
// Only active offices are published. It reads offices through the store's
// Offices interface and changes nothing; officers manage offices in the
// desk.
package offices
