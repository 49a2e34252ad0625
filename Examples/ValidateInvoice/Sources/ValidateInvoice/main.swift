import Foundation
import XRechnung

// Validates the XRechnung (UBL or CII, or a ZUGFeRD/Factur-X PDF) given as argument and prints
// the verdict and the findings. Exit code 0 = accepted, 1 = rejected, 2 = usage.
let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first, let data = FileManager.default.contents(atPath: path) else {
    FileHandle.standardError.write(Data("Aufruf: ValidateInvoice RECHNUNG.xml\n".utf8))
    exit(2)
}
let report = XRechnungValidator().validate(data)
print("\(path): \(report.isValid ? "angenommen" : "abgelehnt") (\(report.errors.count) Fehler, \(report.warnings.count) Warnungen)")
if let invoice = report.invoice {
    print("Rechnungsnummer \(invoice.number ?? "–"), Leitweg-ID \(invoice.buyerReference ?? "–")")
}
for f in report.findings {
    print("  [\(f.severity)] \(f.rule): \(f.messageDE)")
}
exit(report.isValid ? 0 : 1)
