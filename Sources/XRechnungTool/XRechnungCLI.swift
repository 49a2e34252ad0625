import Dispatch
import Foundation
import XRechnung

/// `xrechnung validate <file or dir>… [--html <dir>]` and `xrechnung bench <dir>…` (also as
/// `rathaus xrechnung …`). Its own small target: the stand-alone `xrechnung` executable links only
/// the validator and starts in a fraction of the time the whole server binary needs.
/// Runs before Vapor starts: it needs no database and takes any number of paths.
public enum XRechnungCLI {
    public static func run(_ args: [String]) -> Int32 {
        guard let verb = args.first else { return usage() }
        var paths: [String] = []
        var htmlDir: String?
        var i = 1
        while i < args.count {
            if args[i] == "--html", i + 1 < args.count { htmlDir = args[i + 1]; i += 2; continue }
            paths.append(args[i])
            i += 1
        }
        let files = collect(paths)
        if files.isEmpty {
            FileHandle.standardError.write(Data("Keine XML-Dateien gefunden.\n".utf8))
            return 2
        }
        switch verb {
        case "validate": return validate(files, htmlDir: htmlDir)
        case "bench": return bench(files)
        default: return usage()
        }
    }

    static func usage() -> Int32 {
        FileHandle.standardError.write(Data("""
        Aufruf:
          rathaus xrechnung validate <Datei oder Verzeichnis>… [--html <Verzeichnis>]
          rathaus xrechnung bench <Datei oder Verzeichnis>…

        """.utf8))
        return 2
    }

    /// Files named on the command line, and every *.xml below named directories (sorted).
    static func collect(_ paths: [String]) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else {
                out.append(p) // reported as unreadable
                continue
            }
            if isDir.boolValue {
                let base = URL(fileURLWithPath: p)
                var found: [String] = []
                if let e = fm.enumerator(at: base, includingPropertiesForKeys: nil) {
                    for case let url as URL in e where url.pathExtension.lowercased() == "xml" { found.append(url.path) }
                }
                out.append(contentsOf: found.sorted())
            } else {
                out.append(p)
            }
        }
        return out
    }

    /// Validates on every core (the validator is shared between threads, as in the server) and
    /// prints the results in the order of the files.
    static func validate(_ files: [String], htmlDir: String?) -> Int32 {
        let validator = XRechnungValidator()
        final class Results: @unchecked Sendable {
            // each index is written by exactly one worker
            var reports: [ValidationReport?]
            init(_ n: Int) { reports = Array(repeating: nil, count: n) }
        }
        let results = Results(files.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, files.count))
        let queue = SyntaxQueue(files.indices.map { Self.sniffSyntax(files[$0]) })
        results.reports.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let (i, kind) = queue.next() {
                    if let data = FileManager.default.contents(atPath: files[i]) { slots[i] = validator.validate(data) }
                    queue.done(kind)
                }
            }
        }
        // one write instead of two per file
        var out = Data()
        var allValid = true
        for (f, report) in zip(files, results.reports) {
            guard let report else {
                allValid = false
                emit(["file": f, "syntax": NSNull(), "valid": false, "errors": [["rule": "FILE", "severity": "error", "location": "", "message": "Die Datei kann nicht gelesen werden."]], "warnings": []], into: &out)
                continue
            }
            if !report.isValid { allValid = false }
            emit(json(file: f, report: report), into: &out)
            if let dir = htmlDir {
                let name = URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent + ".html"
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let html = InvoiceHTML.render(report: report, title: URL(fileURLWithPath: f).lastPathComponent)
                FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(html.utf8))
            }
        }
        FileHandle.standardOutput.write(out)
        return allValid ? 0 : 1
    }

    /// The syntax an invoice file declares by its root element, read from its first 4 KB: the
    /// queue below uses it so that no worker waits for a schema another one is compiling.
    static func sniffSyntax(_ path: String) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 4096)) ?? Data()
        var i = head.startIndex
        while i < head.endIndex {
            guard let lt = head[i...].firstIndex(of: UInt8(ascii: "<")) else { return "" }
            let next = head.index(after: lt)
            guard next < head.endIndex else { return "" }
            let c = head[next]
            if c == UInt8(ascii: "?") || c == UInt8(ascii: "!") { i = next; continue } // declaration, comment, doctype
            var name = ""
            var j = next
            let ends: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: ">"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), UInt8(ascii: "/")]
            while j < head.endIndex, !ends.contains(head[j]) {
                name.append(Character(UnicodeScalar(head[j])))
                j = head.index(after: j)
            }
            return String(name.split(separator: ":").last ?? "")
        }
        return ""
    }

    /// Hands out files so that compiling the XSD of one syntax (UBL takes about 30 ms, measured)
    /// overlaps with validating files of another: a worker takes a file whose schema is ready,
    /// else one of a syntax nobody compiles yet (it compiles that schema), and only then one that
    /// has to wait for another worker's compilation.
    final class SyntaxQueue: @unchecked Sendable {
        private let lock = NSLock()
        private var pending: [String: [Int]] = [:]
        private var order: [String] = []
        private var ready: Set<String> = [""]   // unknown syntax: nothing to compile
        private var compiling: Set<String> = []

        init(_ kinds: [String]) {
            for (i, k) in kinds.enumerated() {
                if pending[k] == nil { order.append(k) }
                pending[k, default: []].append(i)
            }
            for k in order { pending[k]?.reverse() }   // popLast takes them in file order
        }

        func next() -> (Int, String)? {
            lock.lock(); defer { lock.unlock() }
            let available = order.filter { !(pending[$0]?.isEmpty ?? true) }
            guard !available.isEmpty else { return nil }
            let kind = available.first { ready.contains($0) }
                ?? available.first { !compiling.contains($0) }
                ?? available[0]
            if !ready.contains(kind) { compiling.insert(kind) }
            guard let i = pending[kind]?.popLast() else { return nil }
            return (i, kind)
        }

        func done(_ kind: String) {
            lock.lock(); defer { lock.unlock() }
            ready.insert(kind)
            compiling.remove(kind)
        }
    }

    public static func json(file: String, report: ValidationReport) -> [String: Any] {
        func f(_ x: Finding) -> [String: Any] {
            ["rule": x.rule, "severity": x.severity.rawValue, "location": x.location, "message": x.messageDE]
        }
        return [
            "file": file,
            "syntax": report.syntax?.rawValue ?? NSNull(),
            "scenario": report.scenario?.name ?? NSNull(),
            "valid": report.isValid,
            "errors": report.errors.map(f),
            "warnings": report.warnings.map(f),
            "information": report.information.map(f),
        ]
    }

    static func emit(_ obj: [String: Any], into out: inout Data) {
        if let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) {
            out.append(d)
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// Prints invoices/second and p50/p99 per invoice over the given files, on one core and on
    /// all cores. Files are read into memory first so the figures measure validation only.
    static func bench(_ files: [String]) -> Int32 {
        let inputs = files.compactMap { FileManager.default.contents(atPath: $0) }
        let totalBytes = inputs.reduce(0) { $0 + $1.count }
        let start = DispatchTime.now().uptimeNanoseconds
        let validator = XRechnungValidator()
        // warm-up: every input once, so the schemas of all syntaxes are compiled before timing
        for d in inputs { _ = validator.validate(d) }
        let startup = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        print("XRechnung-Benchmark: \(inputs.count) Dateien, \(totalBytes / 1024) KiB; Start (Schemas laden, erste Datei): \(String(format: "%.1f", startup)) ms")

        // Single core: several rounds over the suite, per-invoice latencies.
        var latencies: [Double] = []
        let rounds = max(1, 3000 / max(inputs.count, 1))
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds {
            for d in inputs {
                let s = DispatchTime.now().uptimeNanoseconds
                _ = validator.validate(d)
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
            }
        }
        let single = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        latencies.sort()
        let n = latencies.count
        let p50 = latencies[n / 2], p99 = latencies[min(n - 1, n * 99 / 100)]
        print(String(format: "1 Kern:  %.0f Rechnungen/s (%d Prüfungen in %.2f s), p50 %.3f ms, p99 %.3f ms, max %.3f ms", Double(n) / single, n, single, p50, p99, latencies[n - 1]))

        let cores = ProcessInfo.processInfo.activeProcessorCount
        let perWorker = rounds * inputs.count
        let t1 = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: cores) { _ in
            for k in 0..<perWorker { _ = validator.validate(inputs[k % inputs.count]) }
        }
        let multi = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        print(String(format: "%d Kerne: %.0f Rechnungen/s (%d Prüfungen in %.2f s)", cores, Double(perWorker * cores) / multi, perWorker * cores, multi))
        print(String(format: "Verhältnis zur offiziellen Pipeline (110–160 Rechnungen/s auf einem Kern): %.0f× bis %.0f×", Double(n) / single / 160, Double(n) / single / 110))
        // Where one core spends its time: parsing (libxml2 + element tree), XSD (libxml2), rules.
        let phases = XRechnungValidator.phaseTimes(inputs, rounds: max(1, rounds / 2))
        let sum = phases.parse + phases.xsd + phases.rules
        print(String(format: "Anteile (1 Kern): Parsen %.0f %%, XSD %.0f %%, Modell und Regeln %.0f %%", phases.parse / sum * 100, phases.xsd / sum * 100, phases.rules / sum * 100))
        return 0
    }
}
