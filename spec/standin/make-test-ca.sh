#!/bin/sh
# Make a throwaway test CA and a server certificate for 127.0.0.1 / localhost
# in the directory given as the only argument (created if missing):
#
#   ca.pem  ca.key           the test CA (trust this one: ca_file, --cacert)
#   server.pem server.key    the server's certificate (SAN IP:127.0.0.1,
#                            DNS:localhost) and key, for server.py --tls-cert/--tls-key
#   other-ca.pem             an unrelated CA, for "wrong CA" tests
#
# Generated at test time, valid for 7 days, never committed. EC P-256 keys,
# so it takes milliseconds. Needs the openssl CLI (1.1.1 or 3.x).
set -eu

dir=${1:?usage: make-test-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

cat > openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = sfn stand-in test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

ecparam() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ecparam ca.key
openssl req -x509 -new -key ca.key -sha256 -days 7 -config openssl.cnf -extensions v3_ca \
  -subj "/CN=sfn stand-in test CA" -out ca.pem

ecparam server.key
openssl req -new -key server.key -config openssl.cnf -subj "/CN=127.0.0.1" -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 7 \
  -extfile openssl.cnf -extensions v3_server -out server.pem 2>/dev/null

ecparam other-ca.key
openssl req -x509 -new -key other-ca.key -sha256 -days 7 -config openssl.cnf -extensions v3_ca \
  -subj "/CN=sfn stand-in unrelated CA" -out other-ca.pem

rm -f server.csr ca.srl other-ca.key
chmod 644 ca.pem server.pem other-ca.pem
