import Foundation
import XRechnungTool

// The validator alone, without the server: `xrechnung validate <file or dir>…`, `xrechnung bench <dir>…`.
exit(XRechnungCLI.run(Array(CommandLine.arguments.dropFirst())))
