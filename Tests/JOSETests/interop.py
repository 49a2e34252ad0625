#!/usr/bin/env python3
"""Independent check of Rathaus's JOSE layer with jwcrypto (PyPI), called by JOSETests.

Reads what Rathaus wrote into WORKDIR, decrypts/verifies it with jwcrypto, and writes objects
jwcrypto made for Rathaus to decrypt/verify in turn. Prints one JSON object with the results.
"""
import json, pathlib, sys
from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_encode

d = pathlib.Path(sys.argv[1])
message = (d / "message.bin").read_bytes()
out = {}

# 1. what Rathaus encrypted: decrypt with Rathaus's private key (PKCS#8 PEM)
priv = jwk.JWK.from_pem((d / "enc_priv.pem").read_bytes())
tok = jwe.JWE()
tok.deserialize((d / "rathaus.jwe").read_text(), key=priv)
hdr = json.loads(tok.objects["protected"])
out["rathaus_jwe_decrypted"] = tok.payload == message
out["rathaus_jwe_header"] = hdr

# 2. what Rathaus signed (PS512): verify with its public JWK
sig_pub = jwk.JWK(**json.loads((d / "sig_pub.jwk.json").read_text()))
s = jws.JWS()
s.deserialize((d / "rathaus.jws").read_text())
s.verify(sig_pub, alg="PS512")
out["rathaus_jws_verified"] = s.payload == message
# a tampered signature must fail in jwcrypto too
t = (d / "rathaus.jws").read_text().split(".")
t[1] = t[1][:-2] + ("AA" if not t[1].endswith("AA") else "BB")
s2 = jws.JWS()
try:
    s2.deserialize(".".join(t)); s2.verify(sig_pub, alg="PS512"); out["tampered_jws_refused"] = False
except Exception:
    out["tampered_jws_refused"] = True

# 3. for Rathaus: encrypt to Rathaus's public JWK (with and without zip DEF)
enc_pub = jwk.JWK(**json.loads((d / "enc_pub.jwk.json").read_text()))
kid = json.loads((d / "enc_pub.jwk.json").read_text())["kid"]
for name, extra in (("python.jwe", {}), ("python_zip.jwe", {"zip": "DEF"})):
    hdr = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid, "cty": "application/json", **extra}
    e = jwe.JWE(message, json_encode(hdr))
    e.add_recipient(enc_pub)
    (d / name).write_text(e.serialize(compact=True))

# 4. for Rathaus: a PS512 signature with a key made here, and a private encryption JWK
py_sig = jwk.JWK.generate(kty="RSA", size=4096, kid="python-sig", alg="PS512")
s = jws.JWS(message)
s.add_signature(py_sig, alg="PS512", protected=json_encode({"alg": "PS512", "kid": "python-sig"}))
(d / "python.jws").write_text(s.serialize(compact=True))
pub = json.loads(py_sig.export_public()); pub["key_ops"] = ["verify"]; pub["alg"] = "PS512"
(d / "py_sig_pub.jwk.json").write_text(json.dumps(pub))
py_enc = jwk.JWK.generate(kty="RSA", size=4096, kid="python-enc", alg="RSA-OAEP-256")
privj = json.loads(py_enc.export_private()); privj["key_ops"] = ["unwrapKey"]; privj["alg"] = "RSA-OAEP-256"
(d / "py_enc_priv.jwk.json").write_text(json.dumps(privj))
e = jwe.JWE(message, json_encode({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "python-enc"}))
e.add_recipient(py_enc)
(d / "python_own.jwe").write_text(e.serialize(compact=True))
print(json.dumps(out))
