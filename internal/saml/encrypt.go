package saml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"

	"github.com/beevik/etree"
)

// Encryption algorithms: the content with AES-256-GCM, its key with
// RSA-OAEP (XML Encryption 1.1; default digest and MGF1 with SHA-1, which
// every SAML stack reads and which is sound inside OAEP).
const (
	encAES256GCM = nsXENC11 + "aes256-gcm"
	encRSAOAEP   = nsXENC11 + "rsa-oaep"
)

// encryptAssertion wraps a signed assertion in an EncryptedAssertion for
// the SP's encryption certificate.
func encryptAssertion(a *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("saml: the SP's encryption certificate is not RSA")
	}
	doc := etree.NewDocument()
	doc.SetRoot(a.Copy())
	plain, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	ct := gcm.Seal(nonce, nonce, plain, nil)
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		return nil, err
	}

	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", nsSAML)
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXENC)
	ed.CreateAttr("Type", nsXENC+"Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", encAES256GCM)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDS)
	eke := ki.CreateElement("xenc:EncryptedKey")
	eke.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", encRSAOAEP)
	eke.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	eke.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ek))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
	return ea, nil
}
