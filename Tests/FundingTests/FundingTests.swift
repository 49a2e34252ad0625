import XCTest
@testable import Funding

final class FundingTests: XCTestCase {
    func testShareFinancingRoundsDownAndRespectsCapAndOtherFunding() {
        let f = Financing.share(rateBasisPoints: 8000, capCents: 5_000_000)
        XCTAssertEqual(FundingCalculation.grant(f, eligibleCents: 1_234_567, units: 0, otherFundingCents: 0), 987_653)
        // 80 % of 100.000 € is capped at 50.000 €
        XCTAssertEqual(FundingCalculation.grant(f, eligibleCents: 10_000_000, units: 0, otherFundingCents: 0), 5_000_000)
        // no over-financing: other funding leaves only 10.000 € uncovered
        XCTAssertEqual(FundingCalculation.grant(f, eligibleCents: 5_000_000, units: 0, otherFundingCents: 4_000_000), 1_000_000)
        XCTAssertEqual(FundingCalculation.grant(.fixed(amountPerUnitCents: 250_000), eligibleCents: 2_000_000, units: 4, otherFundingCents: 0), 1_000_000)
        XCTAssertEqual(FundingCalculation.grant(.fixed(amountPerUnitCents: 250_000), eligibleCents: 600_000, units: 4, otherFundingCents: 0), 600_000)
        XCTAssertEqual(Financing.percent(7550), "75,5 %")
        XCTAssertEqual(Financing.percent(8000), "80 %")
    }

    func testCostFlags() {
        let types: Set<String> = ["sach", "dienst"]
        let early = CostItem(year: 2027, costType: "sach", netCents: 100, grossCents: 119, vatDeductible: false, incurredOn: "2026-12-01")
        XCTAssertEqual(FundingCalculation.flag(early, eligibleCostTypes: types, projectStart: "2027-01-01", earlyStart: nil), .beforeStart)
        XCTAssertNil(FundingCalculation.flag(early, eligibleCostTypes: types, projectStart: "2027-01-01", earlyStart: "2026-11-15"))
        XCTAssertEqual(FundingCalculation.flag(early, eligibleCostTypes: types, projectStart: "2027-01-01", earlyStart: "2026-12-02"), .beforeStart)
        let staff = CostItem(year: 2027, costType: "personal", netCents: 100, grossCents: 100, vatDeductible: true)
        XCTAssertEqual(FundingCalculation.flag(staff, eligibleCostTypes: types, projectStart: "2027-01-01", earlyStart: nil), .costType)
        XCTAssertEqual(FundingCalculation.eligibleCents([early, staff, CostItem(year: 2027, costType: "dienst", netCents: 1000, grossCents: 1190, vatDeductible: true)],
                                                        eligibleCostTypes: types, projectStart: "2027-01-01", earlyStart: nil), 1000)
    }

    func testSplitAddsUpToTheCent() {
        let parts = FundingCalculation.split(1_000_001, weights: [2027: 1, 2028: 1, 2029: 1])
        XCTAssertEqual(parts.values.reduce(0, +), 1_000_001)
        XCTAssertEqual(parts[2027], 333_334)
        XCTAssertEqual(FundingCalculation.split(500, weights: [2027: 0]), [2027: 500])
        for total in [Int64(1), 7, 99_999, 123_456_789] {
            let p = FundingCalculation.split(total, weights: [2026: 3, 2027: 7, 2028: 11])
            XCTAssertEqual(p.values.reduce(0, +), total)
        }
    }

    func testLedgerPositionsAndShortfall() {
        let k27 = BudgetKey(year: 2027, source: .land)
        let lines = [Booking(year: 2027, source: .land, kind: .plan, cents: 1_000_000),
                     Booking(year: 2027, source: .land, kind: .commit, cents: 600_000),
                     Booking(year: 2027, source: .land, kind: .payout, cents: 200_000),
                     Booking(year: 2027, source: .land, kind: .release, cents: 100_000),
                     Booking(year: 2027, source: .land, kind: .refund, cents: 50_000),
                     Booking(year: 2028, source: .bund, kind: .plan, cents: 10)]
        let p = Ledger.positions(lines)
        XCTAssertEqual(p.count, 2)
        XCTAssertEqual(p[0].key, k27)
        XCTAssertEqual(p[0].committed, 500_000)
        XCTAssertEqual(p[0].available, 500_000)
        XCTAssertEqual(p[0].paidOut, 200_000)
        XCTAssertEqual(p[0].returned, 50_000)
        XCTAssertTrue(Ledger.shortfalls(p, commit: [(k27, 500_000)]).isEmpty)
        // two lines of one year are added before comparing
        let s = Ledger.shortfalls(p, commit: [(k27, 300_000), (k27, 300_000), (BudgetKey(year: 2029, source: .land), 5)])
        XCTAssertEqual(s, [Shortfall(key: k27, missingCents: 100_000), Shortfall(key: BudgetKey(year: 2029, source: .land), missingCents: 5)])
        XCTAssertTrue(s[0].description.contains("Haushaltsjahr 2027"))
        XCTAssertTrue(s[0].description.contains("1.000,00 €"))
    }

    func testSettlementReclaimsLatestYearFirst() {
        let a = BudgetKey(year: 2027, source: .land), b = BudgetKey(year: 2028, source: .land)
        // approved 60.000 (30/30), paid 50.000 (30/20); final eligible grant 40.000 → reclaim 10.000 from 2028
        let s = Settlement.settle([CaseLine(key: a, committed: 3_000_000, paid: 3_000_000), CaseLine(key: b, committed: 3_000_000, paid: 2_000_000)],
                                  finalGrant: 4_000_000)
        XCTAssertEqual(s.reclaimCents, 1_000_000)
        XCTAssertEqual(s.refunds, [b: 1_000_000])
        XCTAssertEqual(s.releases, [b: 2_000_000])
        XCTAssertEqual(s.finalGrant, 4_000_000)
        // paid less than the final grant: nothing reclaimed, the unpaid commitment is released
        let t = Settlement.settle([CaseLine(key: a, committed: 3_000_000, paid: 1_000_000)], finalGrant: 2_500_000)
        XCTAssertEqual(t.reclaimCents, 0)
        XCTAssertEqual(t.releases, [a: 2_000_000])
        // a final grant above the approval is capped
        let u = Settlement.settle([CaseLine(key: a, committed: 100, paid: 100)], finalGrant: 900)
        XCTAssertEqual(u.finalGrant, 100)
        XCTAssertTrue(u.releases.isEmpty)
        // ledger after settlement: committed = paid - refunds = final grant
        var lines = [Booking(year: 2027, source: .land, kind: .commit, cents: 3_000_000), Booking(year: 2028, source: .land, kind: .commit, cents: 3_000_000),
                     Booking(year: 2027, source: .land, kind: .payout, cents: 3_000_000), Booking(year: 2028, source: .land, kind: .payout, cents: 2_000_000)]
        for (k, c) in s.releases { lines.append(Booking(year: k.year, source: k.source, kind: .release, cents: c)) }
        for (k, c) in s.refunds { lines.append(Booking(year: k.year, source: k.source, kind: .refund, cents: c)) }
        let cl = Ledger.caseLines(lines)
        XCTAssertEqual(cl.reduce(0) { $0 + $1.committed }, 4_000_000)
        XCTAssertEqual(cl.reduce(0) { $0 + $1.paid }, 4_000_000)
    }

    func testWorkflowAllowsOnlyDefinedSteps() throws {
        XCTAssertEqual(try FundingWorkflow.next(.draft, .requestRelease), .awaitingRelease)
        XCTAssertEqual(try FundingWorkflow.next(.awaitingRelease, .release), .submitted)
        XCTAssertEqual(try FundingWorkflow.next(.submitted, .approve), .approved)
        XCTAssertEqual(try FundingWorkflow.next(.changesRequested, .requestRelease), .awaitingRelease)
        XCTAssertThrowsError(try FundingWorkflow.next(.draft, .approve))
        XCTAssertThrowsError(try FundingWorkflow.next(.approved, .approve))
        XCTAssertThrowsError(try FundingWorkflow.next(.closed, .withdraw))
        // every state has a defined set; terminal states have none
        XCTAssertEqual(FundingWorkflow.allowed(.closed), [])
        XCTAssertEqual(FundingWorkflow.allowed(.rejected), [])
        var reachable: Set<FundingStatus> = [.draft]
        var frontier: [FundingStatus] = [.draft]
        while let s = frontier.popLast() {
            for step in FundingWorkflow.allowed(s) { let n = try FundingWorkflow.next(s, step); if reachable.insert(n).inserted { frontier.append(n) } }
        }
        XCTAssertEqual(reachable, Set(FundingStatus.allCases))
    }

    func testFourEyes() {
        XCTAssertThrowsError(try FourEyes.release(author: "a", signer: "a"))
        XCTAssertNoThrow(try FourEyes.release(author: "a", signer: "b"))
        XCTAssertThrowsError(try FourEyes.check(by: "x", other: "x"))
        XCTAssertThrowsError(try FourEyes.decide(contentBy: "x", calcBy: nil))
        XCTAssertThrowsError(try FourEyes.decide(contentBy: "x", calcBy: "x"))
        XCTAssertNoThrow(try FourEyes.decide(contentBy: "x", calcBy: "y"))
    }

    func testEligibilityAndRanking() {
        XCTAssertThrowsError(try Eligibility.applicant(ars: "09162000", level: .kreis, name: "München", stateKey: "16", eligible: [.kreis]))
        XCTAssertThrowsError(try Eligibility.applicant(ars: "16", level: nil, name: "Thüringen", stateKey: "16", eligible: [.kreis]))
        XCTAssertThrowsError(try Eligibility.applicant(ars: "16051", level: .kreis, name: "Erfurt", stateKey: "16", eligible: [.gemeinde]))
        XCTAssertNoThrow(try Eligibility.applicant(ars: "160715007", level: .gemeindeverband, name: "VG", stateKey: "16", eligible: [.gemeindeverband]))
        XCTAssertThrowsError(try Eligibility.callOpen(today: "2027-01-01", opens: "2027-02-01", closes: "2027-03-01", show: { $0 }))
        XCTAssertThrowsError(try Eligibility.callOpen(today: "2027-03-02", opens: "2027-02-01", closes: "2027-03-01", show: { $0 }))
        XCTAssertNoThrow(try Eligibility.callOpen(today: "2027-03-01", opens: "2027-02-01", closes: "2027-03-01", show: { $0 }))
        let r = Ranking.rank([.init(id: "a", score: 50, submittedAt: 1, cents: 60), .init(id: "b", score: 90, submittedAt: 2, cents: 50),
                              .init(id: "c", score: 50, submittedAt: 0, cents: 30), .init(id: "d", score: nil, submittedAt: 0, cents: 10)], availableCents: 100)
        XCTAssertEqual(r.map(\.id), ["b", "c", "a", "d"])
        XCTAssertEqual(r.map(\.fits), [true, true, false, true])
        XCTAssertEqual(r.map(\.cumulativeCents), [50, 80, 140, 150])
        XCTAssertEqual(ReminderStage.due(daysUntil: 31), nil)
        XCTAssertEqual(ReminderStage.due(daysUntil: 30), .days30)
        XCTAssertEqual(ReminderStage.due(daysUntil: 7), .days7)
        XCTAssertEqual(ReminderStage.due(daysUntil: -1), .overdue)
    }
}
