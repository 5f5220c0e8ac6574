// Package config owns Clau's configuration: the Config struct, loading it
// and validating it.
//
// Loading layers three sources, each overriding the one before:
//
//  1. a YAML file (clau.example.yaml at the repository root documents every
//     key and its default). Unknown keys are errors, so a misspelt key never
//     goes unnoticed. When Load gets no path, the CLAU_CONFIG environment
//     variable may name the file; without either, the embedded defaults apply.
//  2. environment variables: every key can be set through CLAU_ followed by
//     its dotted path upper-cased, with dots and dashes turned into
//     underscores (storage.dsn is CLAU_STORAGE_DSN). Lists are
//     comma-separated ("10.0.0.0/8,192.168.0.0/16") and maps are
//     comma-separated key=value pairs ("Authorization=Bearer x,X-Tenant=7").
//  3. secret files: CLAU_<KEY>_FILE=/path sets the key to the file's content
//     minus one trailing newline (CLAU_STORAGE_DSN_FILE), so secrets can come
//     from Docker or Kubernetes secrets instead of the environment. Setting
//     both CLAU_<KEY> and CLAU_<KEY>_FILE is an error.
//
// An empty environment variable counts as unset. After loading, zero or empty
// values take their defaults, derived defaults are filled in (public_url from
// listen, the SQLite file and the keyring from data_dir), and everything is
// validated in one pass: the returned *Error lists every problem with its key.
//
// This package must not import other Clau packages: it only describes the
// settings. Interpreting them (opening the store, building senders, starting
// the HTTP server) belongs to the packages that use them, wired by cmd/clau.
package config
