import Fluent
import SQLKit
import Vapor
import Rollout

/// `rathaus bench rollout`: the roll-out matrix (every registered column, SQL aggregates, the
/// shares per Kreis) for the Land's 846 units and for 11,000 generated municipalities in 400
/// Kreise with offices, Leitweg-IDs, activations, payment settings, 22,000 payments and 22,000
/// invoices. The generated rows (Land key 99) are written into the configured database and
/// deleted afterwards.
enum RolloutBench {
    static let land = "99"

    static func run(_ app: Application, console: any Console) async throws {
        guard let sql = app.db as? any SQLDatabase else { return }
        try await cleanup(sql)
        let t0 = Date()
        try await generate(sql, n: 11_000)
        console.print("11.000 Gemeinden mit Nutzungsdaten erzeugt in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
        func measure(_ land: String) async throws -> (p50: Double, p99: Double, rows: Int) {
            var times: [Double] = []
            var rows = 0
            for _ in 0..<20 {
                let t = DispatchTime.now().uptimeNanoseconds
                let m = try await RolloutService.matrix(app, land: land)
                let filtered = RolloutAggregate.filter(m.rows, Filter())
                _ = RolloutAggregate.shares(filtered, capabilities: m.columns.map(\.key))
                rows = m.rows.count
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
            times.sort()
            return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))], rows)
        }
        for p in app.rollout.all {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try await p.columns(app.db, Date(), land)
            console.print("  Spalten \(p.name): \(String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)) ms")
        }
        let th = try await measure(FundingService.stateKey)
        let de = try await measure(land)
        console.print("Matrix Thüringen (\(th.rows) Mandanten): p50 \(String(format: "%.1f", th.p50)) ms, p99 \(String(format: "%.1f", th.p99)) ms")
        console.print("Matrix 11.000 Gemeinden (\(de.rows) Mandanten): p50 \(String(format: "%.1f", de.p50)) ms, p99 \(String(format: "%.1f", de.p99)) ms (Ziel < 200 ms; \(String(format: "%.1f", de.p50 / max(th.p50, 0.001)))× Thüringen)")
        try await cleanup(sql)
    }

    static func cleanup(_ sql: any SQLDatabase) async throws {
        for t in ["offices", "leitweg_ids", "service_activations", "payment_settings", "payments", "rechnungen"] {
            try await sql.raw("DELETE FROM \(unsafeRaw: t) WHERE tenant_ars LIKE '99%'").run()
        }
        try await sql.raw("DELETE FROM gebiete WHERE land_code = \(bind: land)").run()
    }

    static func generate(_ sql: any SQLDatabase, n: Int) async throws {
        let now = Date()
        let hours = #"{"weekly":{"1":[{"from":480,"to":720}],"3":[{"from":480,"to":720}]},"exceptions":[]}"#
        func batches(_ range: Range<Int>, size: Int = 400, _ body: (Range<Int>) async throws -> Void) async throws {
            var i = range.lowerBound
            while i < range.upperBound { try await body(i..<min(i + size, range.upperBound)); i += size }
        }
        func ars(_ i: Int) -> String { String(format: "99%03d%07d", i % 400, i) }
        // Kreise and Gemeinden
        try await batches(0..<400) { r in
            var b = sql.insert(into: "gebiete").columns("ars", "level", "ars12", "name", "type_name", "kreis_ars", "land_code", "plz_list", "as_of", "joinable")
            for k in r { b = b.values([String(format: "99%03d", k), "kreis", String(format: "99%03d0000000", k), "Bench-Kreis \(k)", "Landkreis", String(format: "99%03d", k), land, "", "2026-01-01", true]) }
            try await b.run()
        }
        try await batches(0..<n) { r in
            var b = sql.insert(into: "gebiete").columns("ars", "level", "ars12", "name", "type_name", "kreis_ars", "land_code", "plz_list", "as_of", "joinable", "latitude", "longitude")
            for i in r {
                let lat: Double = 47.5 + Double(i % 997) / 997.0 * 7.5
                let lon: Double = 6.0 + Double(i % 991) / 991.0 * 9.0
                let kreis: String = String(format: "99%03d", i % 400)
                let row: [any Encodable & Sendable] = [ars(i), "gemeinde", ars(i), "Bench-Gemeinde \(i)", "Gemeinde", kreis, land, "", "2026-01-01", true, lat, lon]
                b = b.values(row)
            }
            try await b.run()
        }
        try await batches(0..<n) { r in
            var b = sql.insert(into: "offices").columns("id", "tenant_ars", "name", "kind", "street", "postal_code", "city", "visitor_address", "phone", "email", "website",
                                                      "opening_hours", "accessibility", "appointment_url", "is_main", "is_demo")
            for i in r { b = b.values([UUID(), ars(i), "Bürgerbüro", "Bürgerbüro", "Markt 1", "99999", "Bench", "", "", "", "", i % 10 < 7 ? hours : "{}", "", "", true, true]) }
            try await b.run()
        }
        try await batches(0..<(n / 2)) { r in
            var b = sql.insert(into: "leitweg_ids").columns("id", "tenant_ars", "leitweg_id", "label", "active", "created_at")
            for i in r { b = b.values([UUID(), ars(i * 2), "99-bench-\(i)", "Rechnungseingang", true, now]) }
            try await b.run()
        }
        let slugs = ["hund-anmelden", "gewerbeanmeldung", "wohngeld"]
        try await batches(0..<(n / 3)) { r in
            var b = sql.insert(into: "service_activations").columns("id", "tenant_ars", "slug", "active", "local_text", "contact", "updated_at", "updated_by")
            for i in r { for s in slugs { b = b.values([UUID(), ars(i * 3), s, true, "", "", now, "bench"]) } }
            try await b.run()
        }
        try await batches(0..<(n / 5)) { r in
            var b = sql.insert(into: "payment_settings").columns("id", "tenant_ars", "kassenzeichen_prefix", "expiry_minutes", "haushaltsstelle", "kostentraeger", "objektnummer", "provider")
            for i in r { b = b.values([UUID(), ars(i * 5), "B", 60, "1.0000", "", "", "test"]) }
            try await b.run()
        }
        try await batches(0..<(2 * n)) { r in
            var b = sql.insert(into: "payments").columns("id", "tenant_ars", "originator", "endpoint", "request_hash", "kassenzeichen", "purpose", "description", "amount_cents",
                                                       "currency", "status", "status_detail", "payment_method", "provider", "provider_ref", "redirect_url", "refunded_cents",
                                                       "created_at", "updated_at", "expires_at")
            for i in r {
                let created: Date = now.addingTimeInterval(-Double(i % 80) * 86400)
                let amount: Int64 = Int64(1000 + i % 5000)
                b = b.values([UUID(), ars(i % n), "bench", "bench", "", "B\(i)", "Gebühr", "Bench", amount, "EUR", "PAYED", "", "giropay", "test", "ref\(i)", "",
                              Int64(0), created, now, now] as [any Encodable & Sendable])
            }
            try await b.run()
        }
        try await batches(0..<(2 * n)) { r in
            var b = sql.insert(into: "rechnungen").columns("id", "tenant_ars", "leitweg_id", "channel", "syntax", "sha256", "size", "seller_key", "seller_name", "invoice_number",
                                                         "type_code", "currency", "amount_due_cents", "total_cents", "status", "receipt_hash", "warnings", "received_at")
            for i in r {
                let received: Date = now.addingTimeInterval(-Double(i % 120) * 86400)
                b = b.values([UUID(), ars(i % n), "99-bench", "api", "ubl", "sha\(i)", 1000, "DE99", "Bench GmbH", "R-\(i)", "380", "EUR", Int64(10_000), Int64(10_000), "eingegangen",
                              "r\(i)", 0, received] as [any Encodable & Sendable])
            }
            try await b.run()
        }
    }
}
