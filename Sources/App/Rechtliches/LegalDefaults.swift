/// Built-in texts shown until the operator (or a tenant) writes its own. They are demo texts: the
/// page says so, and the names and addresses are placeholders the operator must replace.
enum LegalDefaults {
    static func text(_ kind: LegalKind, lang: Lang) -> String {
        switch (kind, lang) {
        case (.impressum, .de): return """
        ## Anbieter
        Gemeinsamer kommunaler IT-Dienstleister (Demo), Musterstraße 1, 99084 Erfurt. Vertreten durch die Geschäftsführung.

        ## Kontakt
        Telefon 0361 000000, E-Mail info@rathaus.example

        ## Verantwortlich für den Inhalt
        Für die Inhalte einer Gemeinde ist die jeweilige Gemeinde verantwortlich; ihr Impressum erreichen Sie über ihre Seiten.
        """
        case (.impressum, .en): return """
        ## Provider
        Shared municipal IT provider (demo), Musterstraße 1, 99084 Erfurt, represented by its management.

        ## Contact
        Phone +49 361 000000, e-mail info@rathaus.example
        """
        case (.datenschutz, .de): return """
        ## Verantwortliche Stelle
        Für Anträge ist die Kommune verantwortlich, bei der Sie den Antrag stellen. Für den Betrieb der Plattform ist der IT-Dienstleister Auftragsverarbeiter (Art. 28 DSGVO).

        ## Welche Daten wir verarbeiten
        Angaben in Ihren Anträgen, Ihr Servicekonto (Name, E-Mail-Adresse, Vertrauensniveau), Zahlungsdaten bei Gebühren und technisch notwendige Daten (Sitzungscookie, Sprachwahl). Es gibt keine Werbe- oder Analysecookies.

        ## Suchstatistik des Zuständigkeitsfinders
        Damit Land und Kommunen sehen, welche Onlinedienste gesucht werden, speichern wir zu jeder Suche im Zuständigkeitsfinder nur den Tag, die gefundene Leistung, den Kreis des Ortes, die zuständige Kommune und ob es dort einen Onlinedienst gab; wurde nichts gefunden, den Suchbegriff in vereinfachter Form (Kleinbuchstaben, nur Buchstaben und Ziffern, höchstens 60 Zeichen). Keine IP-Adresse, keine Uhrzeit, kein Konto. Die Einzelsuchen werden täglich zu Tageszahlen zusammengefasst und nach 30 Tagen gelöscht; Suchbegriffe ohne Treffer werden erst ab fünf gleichen Suchen angezeigt.

        ## Ihre Rechte
        Auskunft, Berichtigung, Löschung, Einschränkung, Widerspruch und Datenübertragbarkeit (Art. 15–21 DSGVO). Ihre Daten laden Sie im Servicekonto herunter; dort löschen Sie es auch. Beschwerden richten Sie an die Datenschutzaufsicht des Landes.
        """
        case (.datenschutz, .en): return """
        ## Controller
        The municipality you apply to is the controller for your application. The IT provider runs the platform as processor (Art. 28 GDPR).

        ## Data we process
        What you enter in applications, your service account (name, e-mail, trust level), payment data for fees and technically necessary data (session cookie, language). No advertising or analytics cookies.

        ## Search statistics of the service finder
        So that the state and the municipalities see which online services people look for, we keep for each finder search only the day, the service found, the district of the place, the responsible municipality and whether an online service was available there; when nothing was found, the search words in simplified form (lower case, letters and digits only, at most 60 characters). No IP address, no time of day, no account. Single searches are summed up per day every day and deleted after 30 days; search words without results are shown only from five identical searches on.

        ## Your rights
        Access, rectification, erasure, restriction, objection and portability (Art. 15–21 GDPR). Download or delete your data in your service account.
        """
        case (.barrierefreiheit, .de): return """
        ## Stand der Vereinbarkeit
        Diese Website soll die Anforderungen der Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) erfüllen. Jede Seite wird bei jeder Änderung automatisch mit axe-core geprüft; die letzte Prüfung ergab keine Verstöße. Sie ist weitgehend vereinbar.

        ## Nicht barrierefreie Inhalte
        Hochgeladene Dokumente von Antragstellenden und Unternehmen (z. B. Rechnungen als PDF) sind nicht immer barrierefrei; der Inhalt wird jeweils auch als Text angezeigt.

        ## Barrieren melden
        Wenn Ihnen Barrieren auffallen, schreiben Sie uns über das Formular auf dieser Seite. Wir antworten innerhalb von zwei Wochen.

        ## Durchsetzungsverfahren
        Wenn Sie keine zufriedenstellende Antwort erhalten, können Sie sich an die Durchsetzungsstelle des Landes für barrierefreie Informationstechnik wenden (Demo: Name und Anschrift trägt der Betreiber ein).
        """
        case (.barrierefreiheit, .en): return """
        ## Compliance status
        This website aims to meet the German accessibility regulation (BITV 2.0). Every page is checked automatically with axe-core on each change; the last check found no violations.

        ## Reporting barriers
        If you find a barrier, tell us with the form on this page. We answer within two weeks.

        ## Enforcement procedure
        If our answer does not satisfy you, contact the state's enforcement body for accessible IT (demo: the operator enters name and address).
        """
        case (.leichteSprache, .de): return """
        ## Was ist diese Seite?
        Hier können Sie Dinge bei Ihrer Gemeinde im Internet erledigen. Zum Beispiel: einen Hund anmelden. Oder einen Parkausweis holen.

        ## Wie finde ich, was ich brauche?
        Oben auf der Startseite ist ein Suchfeld. Schreiben Sie dort, was Sie wollen. Zum Beispiel: Hund anmelden. Schreiben Sie auch, wo Sie wohnen. Zum Beispiel: Erfurt. Dann drücken Sie auf Suchen.

        ## Was zeigt mir die Suche?
        Die Suche zeigt Ihnen: Wer hilft Ihnen? Wo ist das Amt? Wann ist das Amt offen? Manchmal gibt es einen grünen Knopf. Dann können Sie den Antrag gleich im Internet stellen.

        ## Brauche ich ein Konto?
        Für viele Anträge brauchen Sie ein Servicekonto. Das ist wie ein Schlüssel. Sie melden sich einmal an. Dann können Sie Anträge stellen. Und Sie bekommen Post von der Gemeinde.
        """
        case (.leichteSprache, .en): return """
        ## What is this page?
        Here you can do things with your municipality on the internet. For example: register a dog.

        ## How do I find what I need?
        At the top of the start page is a search box. Write what you want and where you live. Then press Search.
        """
        case (.gebaerdensprache, .de): return """
        Informationen in Deutscher Gebärdensprache (Demo) | https://www.example.org/dgs-rathaus
        """
        case (.gebaerdensprache, .en): return """
        Information in German Sign Language (demo) | https://www.example.org/dgs-rathaus
        """
        }
    }
}
