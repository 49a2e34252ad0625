#!/usr/bin/env python3
"""Checks the offline Zustelldienst (.ci/zustelldienst.py) against the rules of the Submission API
1.1.3 it claims to follow, with an independent JOSE implementation (jwcrypto) on both ends, and
measures submissions per second through it. Starts the double itself and stops it at the end.

    python3 .ci/zustelldienst_check.py [--port 8099] [--count 200]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from jwcrypto import jwe, jwk, jws
from jwcrypto.common import json_encode

HERE = os.path.dirname(os.path.abspath(__file__))
EVENT = "https://schema.fitko.de/fit-connect/events/"


def call(base, method, path, body=None, ctype=None, token=None, expect=None):
    data = body if isinstance(body, (bytes, type(None))) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    if ctype or (body is not None and not isinstance(body, (bytes, str))):
        req.add_header("Content-Type", ctype or "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if expect is not None and status != expect:
        raise AssertionError(f"{method} {path}: erwartet {expect}, erhalten {status}: {raw[:300]!r}")
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def token(base, cid, secret):
    req = urllib.request.Request(base + "/token", data=f"grant_type=client_credentials&client_id={cid}&client_secret={secret}".encode(),
                                 method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["access_token"]


def encrypt(payload: bytes, key: jwk.JWK, cty: str) -> str:
    t = jwe.JWE(payload, protected=json_encode({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.key_id, "cty": cty}))
    t.add_recipient(key)
    return t.serialize(compact=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    base = f"http://127.0.0.1:{args.port}"

    keys = os.path.join(HERE, "..", "Tests", "Fixtures", "fitconnect", "keys")
    enc = jwk.JWK.from_pem(open(os.path.join(keys, "destination-enc.pem"), "rb").read())
    enc.update(kid="ziel-enc", alg="RSA-OAEP-256")
    sig = jwk.JWK.from_pem(open(os.path.join(keys, "destination-sig.pem"), "rb").read())
    sig.update(kid="ziel-sig", alg="PS512")
    enc_pub = json.loads(enc.export_public())
    enc_pub.update(alg="RSA-OAEP-256", key_ops=["wrapKey"])
    sig_pub = json.loads(sig.export_public())
    sig_pub.update(alg="PS512", key_ops=["verify"])
    dest, other, inactive = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    leika = "99107004018000"
    services = [{"identifier": "urn:de:fim:leika:leistung:" + leika,
                 "regions": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ars:160510000000"]}]
    config = {"clients": [{"id": "sender", "secret": "s3cret", "role": "sender"},
                          {"id": "amt", "secret": "amt-secret", "role": "subscriber", "destinations": [dest]},
                          {"id": "fremd", "secret": "fremd-secret", "role": "subscriber", "destinations": [other]}],
              "destinations": [{"id": dest, "status": "active", "encryptionKey": enc_pub, "signingKey": sig_pub, "services": services},
                               {"id": other, "status": "active", "encryptionKey": enc_pub},
                               {"id": inactive, "status": "inactive", "encryptionKey": enc_pub}],
              "incompleteLifetimeSeconds": 7200}
    cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(config, cfg)
    cfg.close()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "zustelldienst.py"), "--port", str(args.port), "--config", cfg.name,
                             "--key", os.path.join(keys, "zustelldienst-sig.pem")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/v1/info", expect=200)
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise AssertionError("Double startet nicht: " + (proc.stdout.read(2000).decode(errors="replace") if proc.poll() is not None else ""))
        run(base, args.count, enc, sig, dest, other, inactive, leika)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.unlink(cfg.name)


def run(base, count, enc, sig, dest, other, inactive, leika):
    st = token(base, "sender", "s3cret")
    amt = token(base, "amt", "amt-secret")
    fremd = token(base, "fremd", "fremd-secret")
    service = {"name": "Bewohnerparkausweis", "identifier": "urn:de:fim:leika:leistung:" + leika}
    call(base, "POST", "/v1/submissions", {"destinationId": dest, "announcedAttachments": [], "serviceType": service}, expect=401)
    call(base, "POST", "/v1/submissions", {"destinationId": str(uuid.uuid4()), "announcedAttachments": [], "serviceType": service}, token=st, expect=404)
    call(base, "POST", "/v1/submissions", {"destinationId": inactive, "announcedAttachments": [], "serviceType": service}, token=st, expect=422)
    call(base, "POST", "/v1/submissions", "destinationId=x", ctype="text/plain", token=st, expect=415)
    call(base, "POST", "/v1/submissions", {"destinationId": dest, "announcedAttachments": [], "serviceType": service}, token=amt, expect=403)

    a1 = str(uuid.uuid4())
    _, created = call(base, "POST", "/v1/submissions", {"destinationId": dest, "announcedAttachments": [a1], "serviceType": service}, token=st, expect=201)
    sid, case = created["submissionId"], created["caseId"]
    attachment = b"%PDF-1.7 Nachweis " * 1000
    blob = encrypt(attachment, enc, "application/pdf")
    call(base, "PUT", f"/v1/submissions/{sid}/attachments/{a1}", blob, ctype="application/octet-stream", token=st, expect=415)
    call(base, "PUT", f"/v1/submissions/{sid}/attachments/{uuid.uuid4()}", blob, ctype="application/jose", token=st, expect=422)
    meta = encrypt(json.dumps({"contentStructure": {"attachments": [{"attachmentId": a1}]}}).encode(), enc, "application/json")
    call(base, "PUT", f"/v1/submissions/{sid}", {"encryptedMetadata": meta}, token=st, expect=422)  # announced attachment missing
    call(base, "PUT", f"/v1/submissions/{sid}/attachments/{a1}", "kein.jwe", ctype="application/jose", token=st, expect=400)
    call(base, "PUT", f"/v1/submissions/{sid}/attachments/{a1}", blob, ctype="application/jose", token=st, expect=204)
    call(base, "PUT", f"/v1/submissions/{sid}", {"encryptedMetadata": meta}, ctype="text/plain", token=st, expect=415)
    call(base, "PUT", f"/v1/submissions/{sid}", {"encryptedMetadata": meta}, token=st, expect=202)
    call(base, "PUT", f"/v1/submissions/{sid}", {"encryptedMetadata": meta}, token=st, expect=422)  # already submitted

    call(base, "GET", f"/v1/submissions?destinationId={dest}", token=fremd, expect=403)
    call(base, "GET", f"/v1/submissions/{sid}", token=fremd, expect=403)
    _, ready = call(base, "GET", f"/v1/submissions?destinationId={dest}", token=amt, expect=200)
    assert [s["submissionId"] for s in ready["submissions"]] == [sid], ready
    _, full = call(base, "GET", f"/v1/submissions/{sid}", token=amt, expect=200)
    got = jwe.JWE()
    got.deserialize(full["encryptedMetadata"], key=enc)
    assert json.loads(got.payload)["contentStructure"]["attachments"][0]["attachmentId"] == a1
    _, att = call(base, "GET", f"/v1/submissions/{sid}/attachments/{a1}", token=amt, expect=200)
    got.deserialize(att, key=enc)
    assert got.payload == attachment

    def set_token(event, key=sig, kid="ziel-sig"):
        claims = {"iss": dest, "iat": int(time.time()), "jti": str(uuid.uuid4()), "sub": "submission:" + sid,
                  "txn": "case:" + case, "events": {EVENT + event: {}}}
        t = jws.JWS(json.dumps(claims).encode())
        t.add_signature(key, alg="PS512", protected=json_encode({"alg": "PS512", "kid": kid, "typ": "secevent+jwt"}))
        return t.serialize(compact=True)

    forged = jwk.JWK.generate(kty="RSA", size=2048)
    call(base, "POST", f"/v1/cases/{case}/events", set_token("accept-submission", forged), ctype="application/jose", token=amt, expect=422)
    call(base, "POST", f"/v1/cases/{case}/events", set_token("accept-submission"), ctype="application/json", token=amt, expect=415)
    call(base, "POST", f"/v1/cases/{case}/events", set_token("accept-submission"), ctype="application/jose", token=st, expect=403)
    call(base, "POST", f"/v1/cases/{case}/events", set_token("accept-submission"), ctype="application/jose", token=amt, expect=204)
    call(base, "POST", f"/v1/cases/{case}/events", set_token("reject-submission"), ctype="application/jose", token=amt, expect=409)
    _, log = call(base, "GET", f"/v1/cases/{case}/events", token=st, expect=200)
    _, jwks = call(base, "GET", "/.well-known/jwks.json", expect=200)
    zd_key = jwk.JWK(**jwks["keys"][0])
    names = []
    for entry in log["eventLog"]:
        v = jws.JWS()
        v.deserialize(entry)
        v.verify(zd_key if json.loads(v.objects["protected"])["kid"] == zd_key.key_id else sig, alg="PS512")
        names.append(list(json.loads(v.payload)["events"].keys())[0].rsplit("/", 1)[1])
    assert names == ["submit-submission", "accept-submission"], names
    _, routes = call(base, "GET", f"/v1/routes?leikaKey={leika}&ars=160510000000", expect=200)
    assert routes["routes"] and routes["routes"][0]["destinationId"] == dest, routes
    v = jws.JWS()
    v.deserialize(routes["routes"][0]["destinationSignature"])
    v.verify(zd_key, alg="PS512")

    # expiry of an incomplete submission on the double's clock
    _, late = call(base, "POST", "/v1/submissions", {"destinationId": dest, "announcedAttachments": [str(uuid.uuid4())], "serviceType": service}, token=st, expect=201)
    call(base, "POST", "/_test/clock", {"advanceSeconds": 7201}, expect=200)
    call(base, "GET", f"/v1/submissions/{late['submissionId']}", token=st, expect=404)
    # outage: 503, then served again
    call(base, "POST", "/_test/outage", {"seconds": 1}, expect=200)
    call(base, "GET", "/v1/info", expect=503)
    time.sleep(1.1)
    call(base, "GET", "/v1/info", expect=200)

    # throughput: create, upload one attachment, submit (the JWEs prepared beforehand)
    small = encrypt(b"x" * 2048, enc, "application/pdf")
    t0 = time.time()
    for _ in range(count):
        aid = str(uuid.uuid4())
        _, c = call(base, "POST", "/v1/submissions", {"destinationId": dest, "announcedAttachments": [aid], "serviceType": service}, token=st, expect=201)
        call(base, "PUT", f"/v1/submissions/{c['submissionId']}/attachments/{aid}", small, ctype="application/jose", token=st, expect=204)
        call(base, "PUT", f"/v1/submissions/{c['submissionId']}", {"encryptedMetadata": meta}, token=st, expect=202)
    rate = count / (time.time() - t0)
    print(f"zustelldienst: Regeln der Submission API 1.1.3 geprüft (401/403/404/409/415/422, Ablauf, Ausfall, SETs PS512 gegen JWKS, Routing-Signatur); "
          f"{count} Einreichungen mit je einer Anlage in Folge: {rate:.0f}/s (nur das Double, ohne Rathaus)")


if __name__ == "__main__":
    main()
