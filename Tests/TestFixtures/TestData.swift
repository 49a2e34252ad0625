import Foundation
import XCTest

/// Where tests find their data. Everything an ordinary test needs is committed under
/// `Tests/Fixtures/` (see its README for sources and licences), so the test command passes on a
/// clone with nothing beside it. Only whole-corpus runs (the agreement with the official XRechnung
/// verdicts over all 553 files, the import of all of Germany) read the shared open data, from
/// `RATHAUS_SHARED_DATA` or `../shared/data` next to the clone, and skip with one printed line
/// that says how to run them.
public enum TestData {
    /// The repository root (this file is `Tests/TestFixtures/TestData.swift`).
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A committed fixture, e.g. `xrechnung/testsuite/business-cases/standard/01.01a-INVOICE_ubl.xml`.
    public static func fixture(_ relative: String) -> URL {
        repository.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
    }

    /// A committed fixture as text; a missing fixture is a failure, never a skip.
    public static func text(_ relative: String) throws -> String {
        try String(contentsOf: fixture(relative), encoding: .utf8)
    }

    public static var sharedData: URL {
        if let path = ProcessInfo.processInfo.environment["RATHAUS_SHARED_DATA"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repository.deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    /// A file or folder of the whole shared corpus. When it is absent this prints one line saying
    /// how to run the test and throws `XCTSkip` — call it before starting anything that would need
    /// shutting down.
    public static func corpus(_ relative: String, test: String = #function) throws -> URL {
        let url = sharedData.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            let line = "ÜBERSPRUNGEN \(test): Gesamtkorpus \(relative) fehlt – ../shared/data neben den Klon legen oder RATHAUS_SHARED_DATA=/pfad/zu/data setzen"
            print(line)
            throw XCTSkip(line)
        }
        return url
    }
}
