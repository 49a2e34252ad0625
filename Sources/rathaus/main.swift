import App
import XRechnungTool
import Foundation
import Vapor

// `--demo` belongs to Rathaus, not to Vapor's serve command: take it out before Vapor parses.
var arguments = CommandLine.arguments
// `rathaus xrechnung …` needs neither Vapor nor a database and takes any number of paths.
if arguments.count > 1, arguments[1] == "xrechnung" {
    exit(XRechnungCLI.run(Array(arguments.dropFirst(2))))
}
// `rathaus restore <Quelle>` puts a backup in place before anything opens the database, then
// verifies the restored audit chain against the backup's head (`audit verify --kopf`).
if arguments.count > 1, arguments[1] == "restore" {
    guard arguments.count == 3 else {
        print("Aufruf: rathaus restore <Verzeichnis der Sicherung>   (Ziel: RATHAUS_DATA_DIR, muss leer sein)")
        exit(2)
    }
    do {
        let head = try BackupRestore.restoreFiles(from: arguments[2])
        print("Sicherung aus \(arguments[2]) wiederhergestellt; prüfe die Audit-Kette …")
        arguments = [arguments[0], "audit", "verify", "--kopf", head]
    } catch {
        print("Wiederherstellung abgebrochen: \(error)")
        exit(1)
    }
}
let demo = arguments.contains("--demo")
arguments.removeAll { $0 == "--demo" }
// `rathaus leitweg-id A B C`: ConsoleKit takes one positional argument, so the IDs travel as one
if arguments.count > 3, arguments[1] == "leitweg-id" {
    arguments = Array(arguments[0...1]) + [arguments[2...].joined(separator: " ")]
}

var env = try Environment.detect(arguments: arguments)
try LoggingSystem.bootstrap(from: &env)
let app = try await Application.make(env)

do {
    try await configure(app, demo: demo)
    try await app.execute()
} catch {
    app.logger.error("\(String(describing: error))")
    try? await app.asyncShutdown()
    exit(1)
}
try await app.asyncShutdown()
