package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The development certificate lives in the data directory, so that it
// survives restarts and clients can be told to trust it once.
const (
	devCertDir  = "tls"
	devCertName = "dev-cert.pem"
	devKeyName  = "dev-key.pem"
	// devCertLifetime is how long a new development certificate is valid.
	devCertLifetime = 5 * 365 * 24 * time.Hour
	// devCertRenewal: a certificate that expires sooner is replaced.
	devCertRenewal = 30 * 24 * time.Hour
)

// devCert is a self-signed development certificate and where it is kept.
type devCert struct {
	cert     tls.Certificate
	certPath string
	keyPath  string
	// created is set when this call generated it.
	created bool
}

// loadDevCert returns the development certificate kept in
// dataDir/tls/dev-cert.pem and dev-key.pem, generating it first when it
// is missing, unreadable or about to expire. It is issued to localhost,
// 127.0.0.1, ::1 and hostname.
func loadDevCert(dataDir, hostname string, now time.Time) (*devCert, error) {
	dir := filepath.Join(dataDir, devCertDir)
	d := &devCert{certPath: filepath.Join(dir, devCertName), keyPath: filepath.Join(dir, devKeyName)}
	cert, err := tls.LoadX509KeyPair(d.certPath, d.keyPath)
	if err == nil && cert.Leaf != nil && cert.Leaf.NotAfter.Sub(now) > devCertRenewal {
		d.cert = cert
		return d, nil
	}
	// Missing, expiring, or broken (a crash while writing, a manual
	// edit): it is ours, so replace it, as the operator would.
	certPEM, keyPEM, err := newDevCert(hostname, now)
	if err != nil {
		return nil, fmt.Errorf("generate development certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("development certificate: %w", err)
	}
	// The key first: a crash in between leaves a certificate that does not
	// match, which the next start replaces.
	if err := writeFileAtomic(d.keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("development certificate: %w", err)
	}
	if err := writeFileAtomic(d.certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("development certificate: %w", err)
	}
	if d.cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("development certificate: %w", err)
	}
	d.created = true
	return d, nil
}

// newDevCert returns a new self-signed certificate and its key, in PEM.
// The certificate is its own CA, so that a client can trust it by
// putting the file among its roots (Python's cafile, curl's --cacert).
func newDevCert(hostname string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	ski := sha1.Sum(pub)
	names := []string{"localhost"}
	if hostname != "" && hostname != "localhost" && net.ParseIP(hostname) == nil {
		names = append(names, hostname)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Outbox development certificate (" + hostname + ")", Organization: []string{"Outbox development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(devCertLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to path through a temporary file in the
// same directory, synced and renamed, so that path is never half written.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
