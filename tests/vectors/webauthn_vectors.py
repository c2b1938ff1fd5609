#!/usr/bin/env python3
"""Writes tests/unit/chain/webauthn_vectors.h: WebAuthn assertions made by an
implementation independent of the node's (pyca/cryptography for P-256 ECDSA,
hashlib for SHA-256 and the tagged hash), each broken in exactly one way.

    python3 tests/vectors/webauthn_vectors.py > tests/unit/chain/webauthn_vectors.h

ECDSA signatures are randomized, so a rerun gives other (equally valid) bytes."""
import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RP = "localhost"
ORIGIN = "http://localhost:8101"
CHALLENGE = bytes(range(1, 33))
CRED = bytes.fromhex("c0ffee00") + bytes(range(12))

key = ec.derive_private_key(0x1D2C3B4A5968778695A4B3C2D1E0F0E1D2C3B4A5968778695A4B3C2D1E0F0E1,
                            ec.SECP256R1())
other = ec.derive_private_key(0x42, ec.SECP256R1())
PUB = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def adata(rp=RP, flags=0x05, count=7):
    return hashlib.sha256(rp.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big")


def cdata(type_="webauthn.get", challenge=CHALLENGE, origin=ORIGIN, cross=False, raw=None):
    if raw is not None:
        return raw
    d = {"type": type_, "challenge": b64url(challenge), "origin": origin, "crossOrigin": cross}
    return json.dumps(d, separators=(",", ":")).encode()


def sign(a, c, k=key):
    return k.sign(a + hashlib.sha256(c).digest(), ec.ECDSA(hashes.SHA256()))


def tagged(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def cbor_bytes(b):
    n = len(b)
    if n < 24:
        return bytes([0x40 + n]) + b
    if n < 256:
        return bytes([0x58, n]) + b
    return bytes([0x59]) + n.to_bytes(2, "big") + b


cases = []  # (name, expected code, adata, cdata, sig, require_uv, pub)
A, C = adata(), cdata()
cases.append(("valid", "CHAIN_OK", A, C, sign(A, C), False, PUB))
cases.append(("valid_uv_required", "CHAIN_OK", A, C, sign(A, C), True, PUB))
C2 = cdata(type_="webauthn.create")
cases.append(("type_create", "CHAIN_ERR_WEBAUTHN_TYPE", A, C2, sign(A, C2), False, PUB))
C2 = cdata(challenge=bytes(32))
cases.append(("challenge_other_tx", "CHAIN_ERR_WEBAUTHN_CHALLENGE", A, C2, sign(A, C2), False, PUB))
C2 = cdata(origin="http://localhost.evil.example")
cases.append(("origin_other", "CHAIN_ERR_WEBAUTHN_ORIGIN", A, C2, sign(A, C2), False, PUB))
C2 = cdata(origin="http://localhost:810")
cases.append(("origin_prefix", "CHAIN_ERR_WEBAUTHN_ORIGIN", A, C2, sign(A, C2), False, PUB))
C2 = cdata(cross=True)
cases.append(("cross_origin", "CHAIN_ERR_WEBAUTHN_ORIGIN", A, C2, sign(A, C2), False, PUB))
A2 = adata(rp="evil.example")
cases.append(("rp_other", "CHAIN_ERR_WEBAUTHN_RP", A2, C, sign(A2, C), False, PUB))
A2 = adata(flags=0x00)
cases.append(("not_present", "CHAIN_ERR_WEBAUTHN_PRESENCE", A2, C, sign(A2, C), False, PUB))
A2 = adata(flags=0x01)
cases.append(("present_not_verified", "CHAIN_OK", A2, C, sign(A2, C), False, PUB))
cases.append(("not_verified_uv_required", "CHAIN_ERR_WEBAUTHN_PRESENCE", A2, C, sign(A2, C), True,
              PUB))
cases.append(("forged_other_key", "CHAIN_ERR_WEBAUTHN_SIGNATURE", A, C, sign(A, C, other), False,
              PUB))
s = bytearray(sign(A, C))
s[-1] ^= 1
cases.append(("forged_bit_flip", "CHAIN_ERR_WEBAUTHN_SIGNATURE", A, C, bytes(s), False, PUB))
A2 = adata(count=8)
cases.append(("adata_changed_after_signing", "CHAIN_ERR_WEBAUTHN_SIGNATURE", A2, C, sign(A, C),
              False, PUB))
C2 = cdata(raw=C.replace(b"}", b',"x":1}'))
cases.append(("cdata_changed_after_signing", "CHAIN_ERR_WEBAUTHN_SIGNATURE", A, C2, sign(A, C),
              False, PUB))
cases.append(("adata_short", "CHAIN_ERR_WEBAUTHN_MALFORMED", A[:36], C, sign(A[:36], C), False,
              PUB))
C2 = cdata(raw=b'{"type":"webauthn.get","type":"webauthn.get","challenge":"%s","origin":"%s"}'
           % (b64url(CHALLENGE).encode(), ORIGIN.encode()))
cases.append(("cdata_duplicate_key", "CHAIN_ERR_WEBAUTHN_MALFORMED", A, C2, sign(A, C2), False,
              PUB))
C2 = cdata(raw=C[:-1])
cases.append(("cdata_truncated", "CHAIN_ERR_WEBAUTHN_MALFORMED", A, C2, sign(A, C2), False, PUB))
C2 = cdata(raw=b'["webauthn.get"]')
cases.append(("cdata_not_object", "CHAIN_ERR_WEBAUTHN_MALFORMED", A, C2, sign(A, C2), False, PUB))
C2 = cdata(raw=b'{"type":"webauthn.get","origin":"%s"}' % ORIGIN.encode())
cases.append(("cdata_no_challenge", "CHAIN_ERR_WEBAUTHN_MALFORMED", A, C2, sign(A, C2), False,
              PUB))
# a valid signature, re-encoded non-minimally (BER long-form length): not DER
d = sign(A, C)
ber = bytes([0x30, 0x81, d[1]]) + d[2:]
cases.append(("sig_not_der", "CHAIN_ERR_WEBAUTHN_SIGNATURE", A, C, ber, False, PUB))
bad_pub = PUB[:-1] + bytes([PUB[-1] ^ 1])
cases.append(("pub_off_curve", "CHAIN_ERR_WEBAUTHN_MALFORMED", A, C, sign(A, C), False, bad_pub))


def carr(b):
    return "{" + ",".join("0x%02x" % x for x in b) + "}"


print("/* Generated by tests/vectors/webauthn_vectors.py (pyca/cryptography %s): do not edit. */"
      % __import__("cryptography").__version__)
print('#define WV_RP "%s"' % RP)
print('#define WV_ORIGIN "%s"' % ORIGIN)
print("static const uint8_t wv_challenge[32] = %s;" % carr(CHALLENGE))
print("static const uint8_t wv_cred[%d] = %s;" % (len(CRED), carr(CRED)))
print("static const uint8_t wv_pub[65] = %s;" % carr(PUB))
pid = tagged("provena/passkey/v1", bytes([0x82]) + cbor_bytes(CRED) + cbor_bytes(PUB))
print("static const uint8_t wv_passkey_id[32] = %s;" % carr(pid))
print("typedef struct wv_case {\n    const char *name;\n    int code;\n    bool require_uv;\n"
      "    size_t adata_len, cdata_len, sig_len;\n    uint8_t adata[64], cdata[256], sig[80], pub[65];\n} wv_case;")
print("static const wv_case wv_cases[] = {")
for name, code, a, c, sg, uv, pub in cases:
    assert len(c) <= 256 and len(sg) <= 80
    print('    {"%s", %s, %s, %d, %d, %d, %s, %s, %s, %s},'
          % (name, code, "true" if uv else "false", len(a), len(c), len(sg), carr(a), carr(c),
             carr(sg), carr(pub)))
print("};")
