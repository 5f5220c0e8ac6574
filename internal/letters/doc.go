// Package letters serves the citizen's page to ask for a registration
// letter (/register/letter): DNI/NIE with its check value, mobile, email
// and language. It gives the same answer whether or not the request
// matched the reference registry; registration.Service decides and
// records what happened. It owns no storage and no printing (the desk
// prints, internal/letterpdf lays out).
package letters
