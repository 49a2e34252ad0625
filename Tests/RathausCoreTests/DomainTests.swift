import XCTest
@testable import RathausCore

final class DomainTests: XCTestCase {
    func testMembershipStateMachineAllowsExactlyTheDocumentedTransitions() {
        let allowed: [String: MembershipStatus] = [
            "none/apply": .applied, "rejected/apply": .applied, "applied/withdraw": .none,
            "applied/approve": .member, "applied/reject": .rejected, "member/give_notice": .noticeGiven,
        ]
        for s in MembershipStatus.allCases {
            for e in MembershipEvent.allCases {
                XCTAssertEqual(MembershipStateMachine.next(s, e), allowed["\(s.rawValue)/\(e.rawValue)"], "\(s) \(e)")
            }
        }
        XCTAssertTrue(MembershipStateMachine.refusal(.member, .apply).messageDE.contains("Mitglied"))
    }

    func testSurveyTallyPercentagesAreExact() {
        var t = SurveyTally(eligible: 8)
        XCTAssertNil(t.inFavourPermille)
        t.add(.yes); t.add(.yes); t.add(.maybe)
        XCTAssertEqual(t.answered, 3)
        XCTAssertEqual(t.inFavourPermille, 667)
        XCTAssertEqual(SurveyTally.percentDE(t.inFavourPermille), "66,7 %")
        XCTAssertEqual(SurveyTally.percentDE(t.responsePermille), "37,5 %")
        XCTAssertEqual(SurveyTally.percentDE(nil), "–")
    }

    func testCSVQuotingAndEmbeddedNewlines() throws {
        let rows = try CSV.parse("a,\"b,c\",\"d \"\"e\"\"\"\r\n\"x\ny\",2,3\n")
        XCTAssertEqual(rows, [["a", "b,c", "d \"e\""], ["x\ny", "2", "3"]])
        // what is written is read back unchanged: quotes, separators, line breaks, umlauts, € and ß
        let table = [["Straße", "Betrag", "Notiz"], ["Ölmühle 3", "1.234,56 €", "sagte \"ja\";\nzweite Zeile"], ["", "-10,00", "=1+1"]]
        let text = CSV.document(table, delimiter: ";")
        XCTAssertTrue(text.hasSuffix("\r\n") && text.hasPrefix("\"Straße\";\"Betrag\""), text)
        var expected = table
        expected[2][2] = "'=1+1"   // a formula is neutralised, a plain negative amount is not
        XCTAssertEqual(try CSV.parse(text, delimiter: ";"), expected)
        XCTAssertEqual(CSV.document([]), "")
    }
}
