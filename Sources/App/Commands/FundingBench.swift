import Fluent
import Vapor
import Funding

/// `rathaus bench foerderung`: the budget view of a programme with 10,000 applications and
/// 100,000 ledger lines, against the same view of a programme with 6 lines (baseline, same run).
/// Writes two programmes named "Bench …" into the configured database and deletes them again.
enum FundingBench {
    static func run(_ app: Application, console: any Console) async throws {
        let big = try await make(app, title: "Bench 10.000 Anträge (wird gelöscht)", applications: 10_000, lines: 100_000)
        let small = try await make(app, title: "Bench Basis (wird gelöscht)", applications: 0, lines: 6)
        func measure(_ pid: UUID) async throws -> (median: Double, p99: Double) {
            var times: [Double] = []
            for _ in 0..<30 {
                let t = DispatchTime.now().uptimeNanoseconds
                // what the budget page reads: every line of the programme, the pending demand
                let (positions, _, _) = try await FundingLandController.positions(app.db, programme: pid)
                let pending = try await FundingLandController.demand(app.db, programme: pid)
                precondition(!positions.isEmpty || pending.count == 0)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
            times.sort()
            return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))])
        }
        let base = try await measure(small)
        let full = try await measure(big)
        console.print("Haushaltssicht, Basis (6 Buchungszeilen): Median \(String(format: "%.2f", base.median)) ms, p99 \(String(format: "%.2f", base.p99)) ms")
        console.print("Haushaltssicht, 10.000 Anträge / 100.000 Buchungszeilen: Median \(String(format: "%.1f", full.median)) ms, p99 \(String(format: "%.1f", full.p99)) ms (\(String(format: "%.0f", full.median / max(base.median, 0.001)))× Basis)")
        for pid in [big, small] { try await remove(app, pid) }
    }

    static func make(_ app: Application, title: String, applications: Int, lines: Int) async throws -> UUID {
        let p = FundingProgramme()
        p.id = UUID(); p.title = title; p.guideline = ""; p.levels = "gemeinde"; p.demo = true; p.version = 1; p.budgetLock = 0
        p.createdBy = "bench"; p.createdAt = Date(); p.updatedAt = Date()
        try await p.create(on: app.db)
        let pid = try p.requireID()
        var ids: [UUID] = []
        var batch: [FundingApplication] = []
        for n in 0..<applications {
            let a = FundingApplication()
            a.id = UUID(); ids.append(a.id!)
            a.reference = "BENCH-\(pid.uuidString.prefix(8))-\(n)"; a.programmeID = pid; a.callID = pid; a.categoryID = pid; a.tenantARS = "16051"; a.tenantName = "Bench"
            a.title = "Vorhaben \(n)"; a.summary = ""; a.startsOn = "2027-01-01"; a.endsOn = "2027-12-31"; a.units = 0; a.ownShareCents = 0; a.otherFundingCents = 0
            a.requestedCents = 1_000_000; a.contactName = ""; a.contactEmail = ""; a.status = n % 2 == 0 ? "bewilligt" : "eingereicht"; a.authorID = "bench"; a.authorName = "bench"
            a.contentCheckNote = ""; a.calcCheckNote = ""; a.earlyStartStatus = ""; a.earlyStartFrom = ""; a.earlyStartReason = ""; a.queryText = ""; a.queryDueOn = ""
            a.decisionText = ""; a.conditions = ""; a.legalRemedy = ""; a.proofDueOn = ""; a.proofReport = ""; a.proofCostsCents = 0; a.finalGrantCents = 0; a.reclaimCents = 0
            a.createdAt = Date(); a.updatedAt = Date()
            batch.append(a)
            if batch.count == 500 { try await batch.create(on: app.db); batch = [] }
        }
        if !batch.isEmpty { try await batch.create(on: app.db) }
        var books: [FundingBooking] = []
        for n in 0..<lines {
            let b = FundingBooking()
            b.programmeID = pid; b.year = 2026 + n % 3; b.source = n % 5 == 0 ? "bund" : "landesmittel"
            b.kind = n < 6 ? "ansatz" : ["bindung", "auszahlung", "freigabe", "rueckzahlung"][n % 4]; b.cents = n < 6 ? 1_000_000_000 : 1_000
            b.ve = false; b.applicationID = ids.isEmpty ? nil : ids[n % ids.count]; b.payoutID = nil; b.note = ""; b.createdBy = "bench"; b.createdAt = Date()
            books.append(b)
            if books.count == 1000 { try await books.create(on: app.db); books = [] }
        }
        if !books.isEmpty { try await books.create(on: app.db) }
        return pid
    }

    static func remove(_ app: Application, _ pid: UUID) async throws {
        try await FundingBooking.query(on: app.db).filter(\.$programmeID == pid).delete()
        try await FundingApplication.query(on: app.db).filter(\.$programmeID == pid).delete()
        try await FundingProgramme.query(on: app.db).filter(\.$id == pid).delete()
    }
}
