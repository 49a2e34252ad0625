#!/usr/bin/env python3
"""Reads an iCalendar file with the PyPI `icalendar` package (independent of the writer) and prints
JSON: per event the UID, summary, description, location, status and start/end as UTC ISO times."""
import json, sys
from datetime import timezone
import icalendar

cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
out = []
for ev in cal.walk("VEVENT"):
    out.append({
        "uid": str(ev.get("UID")), "summary": str(ev.get("SUMMARY")), "description": str(ev.get("DESCRIPTION", "")),
        "location": str(ev.get("LOCATION", "")), "status": str(ev.get("STATUS")),
        "start": ev.decoded("DTSTART").astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": ev.decoded("DTEND").astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tz": str(ev["DTSTART"].params.get("TZID")),
    })
print(json.dumps(out, ensure_ascii=False))
