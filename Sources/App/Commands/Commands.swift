import Fluent
import Vapor
import RathausCore
#if canImport(Glibc)
import Glibc
#endif

/// A command failure with a German message and a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// `rathaus import gebiete <datei> [--dry-run] [--land 16] [--ergaenzung gemeinden.csv] [--nachfolger alt_neu.csv]`
struct ImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "art", help: "Was importiert wird: gebiete")
        var kind: String
        @Argument(name: "datei", help: "gebiete_*.csv oder die amtliche GV100AD-Datei (*.ASC)")
        var file: String
        @Flag(name: "dry-run", help: "Nur zeigen, was sich ändern würde")
        var dryRun: Bool
        @Option(name: "land", help: "Nur dieses Land übernehmen (z. B. 16)")
        var land: String?
        @Option(name: "ergaenzung", help: "gemeinden_*.csv mit PLZ-Listen und Koordinaten")
        var extras: String?
        @Option(name: "nachfolger", help: "CSV alt_ars,neu_ars für aufgelöste Gemeinden")
        var successors: String?
    }

    var help: String { "Importiert Gebietseinheiten (Destatis GV100AD oder CSV) und zeigt, was sich geändert hat." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.kind == "gebiete" else { throw CommandFailure(message: "Unbekannte Art „\(signature.kind)“. Möglich: gebiete") }
        let started = Date()
        guard let text = try? String(contentsOfFile: signature.file, encoding: .utf8) else {
            throw CommandFailure(message: "Datei \(signature.file) kann nicht gelesen werden (UTF-8 erwartet).")
        }
        var records: [GebietRecord]
        switch GebieteFormat.detect(Substring(text)) {
        case .gebieteCSV: records = try GebieteParser.parseGebieteCSV(text)
        case .gv100ad: records = try GebieteParser.parseGV100AD(text)
        case .gemeindenCSV:
            throw CommandFailure(message: "gemeinden_*.csv ergänzt nur PLZ und Koordinaten; bitte mit --ergaenzung zusammen mit gebiete_*.csv oder GV100AD angeben.")
        case nil:
            throw CommandFailure(message: "Format nicht erkannt. Erwartet: gebiete_*.csv (Kopf „ebene,ars,…“) oder GV100AD-Festbreitendatei.")
        }
        if let land = signature.land { records = records.filter { $0.ars.landCode == land } }
        if let extras = signature.extras {
            guard let t = try? String(contentsOfFile: extras, encoding: .utf8) else {
                throw CommandFailure(message: "Ergänzungsdatei \(extras) kann nicht gelesen werden.")
            }
            do { GebieteParser.enrich(&records, with: try GebieteParser.parseGemeindenCSV(t)) } catch { throw CommandFailure(message: "\(extras): \(error.message)") }
        }
        var successors: [String: String] = [:]
        if let path = signature.successors {
            guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CommandFailure(message: "Nachfolger-Datei \(path) kann nicht gelesen werden.")
            }
            let rows: [[String]]
            do { rows = try CSV.parse(t) } catch { throw CommandFailure(message: "\(path): \(error.message)") }
            for row in rows where row.count >= 2 && (try? ARS(row[0])) != nil { successors[row[0]] = row[1] }
        }
        let parsed = Date().timeIntervalSince(started)
        context.console.print("\(records.count) Einheiten gelesen (\(String(format: "%.2f", parsed)) s).")
        let tty = isatty(STDERR_FILENO) == 1
        let report = try await GebieteImporter().run(records, on: context.application.db, dryRun: signature.dryRun,
                                                     successors: successors, actor: "cli:import") { done, total in
            guard tty, total > 0 else { return }
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write("\r[\(bar)] \(done)/\(total)".data(using: .utf8)!)
            if done == total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        }
        func list(_ title: String, _ items: [GebieteImportReport.Change]) {
            guard !items.isEmpty else { return }
            context.console.print("\(title) (\(items.count)):")
            for c in items.prefix(40) { context.console.print("  \(c.ars) \(c.name): \(c.details)") }
            if items.count > 40 { context.console.print("  … und \(items.count - 40) weitere") }
        }
        list("Neu", report.added)
        list("Geändert", report.changed)
        list("Aufgelöst (bleiben mit Datum und Nachfolger erhalten, nichts wird gelöscht)", report.dissolved)
        let took = Date().timeIntervalSince(started)
        context.console.print((signature.dryRun ? "Probelauf, nichts gespeichert: " : "Gespeichert: ") + report.summaryDE
                              + " in \(String(format: "%.2f", took)) s")
    }
}

/// `rathaus user create --role operator --email … [--name …] [--tenant ARS]`
struct UserCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "aktion", help: "create")
        var action: String
        @Option(name: "role", help: "operator | state | tenant-admin | clerk | kasse")
        var role: String?
        @Option(name: "email", help: "E-Mail-Adresse (Anmeldename)")
        var email: String?
        @Option(name: "name", help: "Anzeigename")
        var name: String?
        @Option(name: "tenant", help: "ARS des Mandanten (für tenant-admin und clerk)")
        var tenant: String?
    }

    var help: String { "Legt ein Mitarbeiterkonto an (z. B. den ersten Betriebs-Admin) und zeigt das Startpasswort einmal an." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "create" else { throw CommandFailure(message: "Unbekannte Aktion „\(signature.action)“. Möglich: create") }
        guard let role = signature.role.flatMap(Role.init(rawValue:)) else {
            throw CommandFailure(message: "--role muss operator, state, tenant-admin, clerk oder kasse sein.")
        }
        let email: String
        do { email = try TextInput.email(signature.email, field: "email")! } catch let e as AppError {
            throw CommandFailure(message: e.messageDE)
        }
        let db = context.application.db
        var tenant: String? = nil
        if role.isTenantBound || role == .state {
            guard let t = signature.tenant else { throw CommandFailure(message: "--tenant <ARS> ist für die Rolle \(role.rawValue) nötig.") }
            do { tenant = try await Tenants.tenant(t, on: db).ars } catch let e as AppError { throw CommandFailure(message: e.messageDE) }
        }
        if try await User.query(on: db).filter(\.$email == email).first() != nil {
            throw CommandFailure(message: "Ein Konto mit \(email) gibt es bereits.")
        }
        var bytes = [UInt8](repeating: 0, count: 15)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        let password = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "x").replacingOccurrences(of: "+", with: "y")
        let hash = try await context.application.password.async.hash(password)
        let tenantARS = tenant
        let user = User(email: email, name: signature.name ?? email, passwordHash: hash)
        try await context.application.writeTransaction { tx in
            try await user.create(on: tx)
            try await RoleAssignment(userID: user.requireID(), role: role, tenantARS: tenantARS, createdBy: "cli:user").create(on: tx)
            try await Audit.record(on: tx, actor: "cli:user", actorID: nil, tenant: tenantARS, action: "user.create",
                                   objectType: "user", objectID: email, before: nil, after: "Rolle \(role.rawValue)")
        }
        context.console.print("Konto \(email) (\(role.rawValue)) angelegt." + (role.requiresTOTP ? " Bei der ersten Anmeldung wird der zweite Faktor (TOTP) eingerichtet." : ""))
        context.console.print("Startpasswort (nur jetzt sichtbar):")
        context.console.print(password)
    }
}

/// `rathaus token create --tenant <ARS> --scope membership[,operator…] [--name …]`, `token revoke --prefix rh_…`
struct TokenCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "aktion", help: "create | revoke")
        var action: String
        @Option(name: "tenant", help: "ARS des Mandanten")
        var tenant: String?
        @Option(name: "scope", help: "membership, operator, audit, payments, finder, rechnungen, antraege, onlinedienste, metrics, foerderung, rollout (mehrere mit Komma)")
        var scope: String?
        @Option(name: "name", help: "Bezeichnung")
        var name: String?
        @Option(name: "prefix", help: "Der Token oder mindestens seine ersten 10 Zeichen (zum Widerrufen)")
        var prefix: String?
    }

    var help: String { "Erzeugt einen API-Token (letzte Zeile der Ausgabe) oder widerruft einen." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let db = context.application.db
        switch signature.action {
        case "create":
            guard let t = signature.tenant else { throw CommandFailure(message: "--tenant <ARS> fehlt.") }
            let tenant: Gebiet
            do { tenant = try await Tenants.tenant(t, on: db) } catch let e as AppError { throw CommandFailure(message: e.messageDE) }
            let raw = (signature.scope ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let scopes = raw.compactMap(Scope.init(rawValue:))
            guard !scopes.isEmpty, scopes.count == raw.count else {
                throw CommandFailure(message: "--scope muss aus membership, operator, audit, payments, finder, rechnungen, antraege, onlinedienste, metrics bestehen.")
            }
            let (token, clear) = APIToken.generate(tenant: tenant.ars, scopes: scopes, name: signature.name ?? "CLI", createdBy: "cli:token")
            try await context.application.writeTransaction { tx in
                try await token.create(on: tx)
                try await Audit.record(on: tx, actor: "cli:token", actorID: nil, tenant: tenant.ars, action: "token.create",
                                       objectType: "api_token", objectID: token.prefix, before: nil, after: "Scopes \(token.scopes)")
            }
            context.console.print("Token für \(tenant.name) (\(tenant.ars)), Scopes \(token.scopes). Er wird nur jetzt angezeigt:")
            context.console.print(clear)
        case "revoke":
            // The whole token (as pasted from where it is configured) or its first 10 or more characters.
            let p = (signature.prefix ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard p.count >= 10 else {
                throw CommandFailure(message: "--prefix <Token oder mindestens seine ersten 10 Zeichen> fehlt oder ist zu kurz.")
            }
            var tokens = try await APIToken.query(on: db).filter(\.$tokenHash == APIToken.hash(p)).filter(\.$revokedAt == nil).all()
            if tokens.isEmpty {
                tokens = try await APIToken.query(on: db).filter(\.$prefix == String(p.prefix(APIToken.prefixLength))).filter(\.$revokedAt == nil).all()
            }
            guard tokens.count == 1, let token = tokens.first else {
                throw CommandFailure(message: tokens.isEmpty ? "Kein aktiver Token mit diesem Anfang." : "Mehrere Tokens passen; bitte den ganzen Token angeben.")
            }
            try await context.application.writeTransaction { tx in
                token.revokedAt = Date()
                try await token.save(on: tx)
                try await Audit.record(on: tx, actor: "cli:token", actorID: nil, tenant: token.tenantARS, action: "token.revoke",
                                       objectType: "api_token", objectID: token.prefix, before: nil, after: nil)
            }
            context.console.print("Token \(token.prefix)… widerrufen.")
        default:
            throw CommandFailure(message: "Unbekannte Aktion „\(signature.action)“. Möglich: create, revoke")
        }
    }
}

/// `rathaus audit verify [--pruefpunkt "<line>"]`: recomputes the hash chain and checks it against
/// every signed checkpoint; `rathaus audit checkpoint`: signs the current head and prints it.
struct AuditCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "aktion", help: "verify | checkpoint")
        var action: String
        @Option(name: "pruefpunkt", help: "eine veröffentlichte Prüfpunkt-Zeile, gegen die zusätzlich geprüft wird")
        var checkpoint: String?
        @Option(name: "kopf", help: "der erwartete Kopf der Kette (nach einer Wiederherstellung: der der Sicherung)")
        var head: String?
    }

    var help: String { "Prüft die Hash-Kette des Audit-Protokolls gegen die signierten Prüfpunkte oder schreibt einen Prüfpunkt." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        switch signature.action {
        case "verify":
            let result = try await Audit.verify(on: app.db)
            if let broken = result.firstBroken {
                context.console.error("Audit-Kette gebrochen bei Eintrag \(broken.seq): \(broken.reason) (\(result.checked) Einträge davor in Ordnung)")
                throw CommandFailure(message: "Audit-Kette gebrochen bei Eintrag \(broken.seq)")
            }
            var extra: [AuditCheckpoint] = []
            if let line = signature.checkpoint {
                guard let cp = AuditCheckpoint.parse(line) else { throw CommandFailure(message: "Die Prüfpunkt-Zeile ist nicht lesbar.") }
                extra.append(cp)
            }
            let anchored = try await AuditCheckpoints.verify(app, extra: extra)
            if let problem = anchored.problem {
                context.console.error("Audit-Protokoll passt nicht zu den signierten Prüfpunkten: \(problem)")
                throw CommandFailure(message: "Audit-Protokoll verändert: \(problem)")
            }
            if let expected = signature.head, expected != result.head {
                context.console.error("Der Kopf der Kette ist \(result.head), erwartet war \(expected).")
                throw CommandFailure(message: "Audit-Kopf stimmt nicht mit der Sicherung überein")
            }
            context.console.print("Audit-Kette in Ordnung: \(result.checked) Einträge geprüft, \(anchored.checked) signierte Prüfpunkte passen. Kopf \(result.head)\(signature.head == nil ? "" : " – wie in der Sicherung").")
        case "checkpoint":
            let cp = try await AuditCheckpoints.write(app)
            let key = try AuditSigningKey.load(app)
            context.console.print("Prüfpunkt: Eintrag \(cp.seq), \(cp.count) Einträge, Kopf \(cp.head)")
            context.console.print("Öffentlicher Schlüssel (Ed25519): \(key.publicKeyBase64)")
            context.console.print(cp.line)
        default:
            throw CommandFailure(message: "Unbekannte Aktion „\(signature.action)“. Möglich: verify, checkpoint")
        }
    }
}

/// `rathaus migrate`: migrations (with the cross-instance lock) and reference data, as on start.
struct MigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Legt die Datenbank an bzw. bringt sie auf den neuesten Stand und lädt die Referenzdaten." }

    func run(using context: CommandContext, signature: Signature) async throws {
        // configure() has already migrated under the lock; report the state
        let gebiete = try await Gebiet.query(on: context.application.db).count()
        let engine = context.application.rathaus.databaseURL == nil ? "SQLite" : "PostgreSQL"
        context.console.print("Datenbank (\(engine)) ist auf dem neuesten Stand; \(gebiete) Gebietseinheiten vorhanden.")
    }
}

/// `rathaus leitweg-id <id>…`: checks format and check digits; exit 0 when all are valid, 1 otherwise.
/// Needs no database entry: it answers what the Leitweg-ID format specification says.
struct LeitwegCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "ids", help: "eine oder mehrere Leitweg-IDs, durch Leerzeichen getrennt")
        var ids: String
    }

    var help: String { "Prüft Leitweg-IDs (Aufbau und Prüfziffer nach ISO 7064 MOD 97-10)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        // several IDs arrive as one argument separated by spaces (see main.swift) or commas
        let all = signature.ids.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        var invalid = 0
        for raw in all where !raw.isEmpty {
            do {
                let id = try LeitwegID(raw)
                context.console.print("\(id.description): gültig")
            } catch {
                invalid += 1
                context.console.print("\(raw): ungültig – \(error.messageDE)")
            }
        }
        if invalid > 0 { throw CommandFailure(message: "\(invalid) von \(all.count) Leitweg-IDs ungültig") }
    }
}
