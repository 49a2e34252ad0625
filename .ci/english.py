#!/usr/bin/env python3
"""English UI crawl: pages in English must not contain German UI text.

Usage: english.py BASE_URL [--strict]   (server started with `rathaus serve --demo`)

Visits the public pages and every staff role's pages with the English language cookie and looks
for German-only words in the visible text. Text inside an element with lang="de" is data (an
office's name, a municipality's own text, an applicant's answer) or an official German name and
is skipped — the pages must mark such text, which screen readers need anyway (WCAG 3.1.2).
Prints every page with the German words found; with --strict exits 1 when any are left.
"""
import re
import sys
import urllib.parse
from collections import Counter

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.argv, STRICT = [a for a in sys.argv if a != "--strict"], "--strict" in sys.argv
import journey  # noqa: E402
from journey import BASE, driver  # noqa: E402

GERMAN = set("""und oder der die das den dem des nicht bitte sie ihre ihr ihren mit für keine kein ist sind wird werden
eine einen einem zum zur vom bei nach über antrag anträge gebühr gebühren zahlung zahlungen rechnung rechnungen uhr
geschlossen geöffnet seite zurück weiter speichern abbrechen suchen leistung behörde öffnungszeiten postfach bescheid
eingegangen abgeschlossen zurückgewiesen freigegeben geprüft offen anmelden abmelden hier noch auch wenn wie alle
ja nein datum betrag mandant mandanten gemeinde kommune stelle zuständig zuständige keine""".split())

# deep pages the crawl limit might not reach first: the audit trail, the invoice inbox (an
# invoice with findings, sent by the e-invoice smoke test before this crawl), the cash office
EXTRA = {
    "betrieb@demo.rathaus.test": ["/betrieb/audit", "/betrieb/isms"],
    "land@demo.rathaus.test": ["/isms/uebersicht", "/betrieb/isms"],
    "admin.erfurt@demo.rathaus.test": ["/mandanten/16051/fitconnect", "/mandanten/16051/isms", "/mandanten/16051/isms/anforderungen/BACK-1", "/mandanten/16051/isms/massnahmen",
                                       "/mandanten/16051/isms/struktur", "/mandanten/16051/sicherheitsvorfaelle", "/mandanten/16051/sicherheitsvorfaelle/neu"],
    "cert@demo.rathaus.test": ["/betrieb/sicherheitsvorfaelle", "/isms/uebersicht"],
    "sachbearbeitung.erfurt@demo.rathaus.test": ["/mandanten/16051/rechnungen"],
    "kasse.erfurt@demo.rathaus.test": ["/mandanten/16051/kasse/tagesbericht"],
    "einkauf@demo.rathaus.test": ["/einkauf", "/einkauf/abrufe?status=alle", "/einkauf/rechnungen", "/einkauf/rechnungssteller"],
    "beschaffung.bad-berka@demo.rathaus.test": ["/mandanten/160710003003/beschaffung", "/beschaffung?q=Notbook"],
}

SKIP_PATHS = ("/sprache/", "/abmelden", ".csv", ".xml", ".json", "/xml", "/dateien/", "/anlagen/", "/bezahlen/test/")

SCRIPT = """
const out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const n = walker.currentNode;
  const el = n.parentElement;
  if (!el || el.closest('[lang="de"], script, style, [hidden], code, .code, textarea, option')) continue;
  const s = getComputedStyle(el);
  if (s.display === 'none' || s.visibility === 'hidden') continue;
  out.push(n.textContent);
}
return out.join(' ');
"""


def words(text):
    return [w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", text)]


def crawl(d, starts, label, findings, limit=60):
    seen, queue, n = set(), list(starts), 0
    while queue and n < limit:
        path = queue.pop(0)
        if path in seen or any(s in path for s in SKIP_PATHS):
            continue
        seen.add(path)
        d.get(BASE + path)
        n += 1
        text = d.execute_script(SCRIPT)
        found = Counter(w for w in words(text) if w in GERMAN)
        if found:
            findings.append((label, path, found.most_common(8)))
        for a in d.find_elements(By.CSS_SELECTOR, "a[href]"):
            href = a.get_attribute("href") or ""
            u = urllib.parse.urlparse(href)
            if u.netloc != urllib.parse.urlparse(BASE).netloc:
                continue
            p = u.path + (("?" + u.query) if u.query and len(u.query) < 40 else "")
            if p not in seen and p not in queue and not p.startswith("/gebiete/"):
                queue.append(p)
    return n


def main():
    d = driver()
    findings, pages = [], 0
    try:
        d.get(BASE + "/sprache/en?zurueck=/")
        pages += crawl(d, ["/", "/?ort=Erfurt", "/finder?leistung=Hund+anmelden&ort=Erfurt", "/onlinedienste?ort=Erfurt",
                           "/onlinedienste/hund-anmelden?ars=160510000000", "/onlinedienste/hund-anmelden?ars=160715007043",
                           "/rechnungen/einreichen", "/rechnungen/erfassen", "/konto/registrieren", "/konto/anmelden",
                           "/impressum", "/barrierefreiheit", "/ueber", "/veranstaltungen", "/nachweis", "/nachweis/ABCD-EFGH-2",
                           "/leichte-sprache", "/leichte-sprache/suche?leistung=Hund+anmelden&ort=Erfurt", "/beschaffung"], "anonym", findings)
        for email in ["betrieb@demo.rathaus.test", "land@demo.rathaus.test", "admin.erfurt@demo.rathaus.test",
                      "sachbearbeitung.erfurt@demo.rathaus.test", "kasse.erfurt@demo.rathaus.test", "kompetenzzentrum@demo.rathaus.test",
                      "foerderung.vg-kranichfeld@demo.rathaus.test", "bewilligung@demo.rathaus.test", "cert@demo.rathaus.test",
                      "einkauf@demo.rathaus.test", "beschaffung.bad-berka@demo.rathaus.test"]:
            journey.staff_login(d, email, lang="en", audit=False)
            pages += crawl(d, [urllib.parse.urlparse(d.current_url).path, "/"] + EXTRA.get(email, []), email, findings, limit=40)
        # the demo citizen's account pages
        d.delete_all_cookies()
        d.get(BASE + "/sprache/en?zurueck=/")
        d.get(BASE + "/konto/anmelden")
        journey.fill(d, "email", "buerger@demo.rathaus.test")
        journey.fill(d, "passwort", "Demo-Passwort-2026")
        d.find_element(By.CSS_SELECTOR, "form.form button[type=submit]").click()
        WebDriverWait(d, 10).until(lambda drv: "/konto/anmelden" not in drv.current_url)
        pages += crawl(d, ["/konto", "/konto/profil", "/konto/postfach", "/konto/sicherheit", "/konto/identifizieren",
                           "/onlinedienste/hund-anmelden?ars=160510000000"], "buerger@demo.rathaus.test", findings, limit=30)
    finally:
        d.quit()
    total = sum(sum(c for _, c in f[2]) for f in findings)
    print(f"english: {pages} englische Seiten geprüft, {len(findings)} mit deutschen Wörtern ({total} Fundstellen)")
    for f in findings:
        print("  ", f)
    sys.exit(1 if STRICT and findings else 0)


if __name__ == "__main__":
    main()
