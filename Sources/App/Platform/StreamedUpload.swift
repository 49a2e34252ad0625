import Forms
import Foundation
import MultipartKit
import NIOCore
import Vapor

/// A file received in a streamed multipart form: stored (content-addressed) or refused with a message.
struct UploadedFile: Sendable {
    var field: String
    var name: String
    var kind: FileKind?
    var size: Int
    var sha256: String?
    var error: FieldError?
}

/// Text fields and files of a multipart form whose files were streamed to storage.
struct StreamedForm: Sendable {
    var fields: [String: String] = [:]
    var lists: [String: [String]] = [:]
    var files: [UploadedFile] = []
}

/// Reads a multipart form chunk by chunk: text fields are kept (bounded), file parts go straight
/// into the file storage while their hash is computed, so a large file never sits in memory.
/// The CSRF token must come as a part before the first file; a file that is too large or whose
/// content is not an accepted kind is dropped with a German message, and the rest of the form is
/// still read — nothing the person typed is lost because of one bad file.
enum StreamedUpload {
    /// Routes registered with `body: .stream` that take files; the CSRF middleware leaves their
    /// token check to `read`.
    static func isStreamedPath(_ path: String) -> Bool {
        let p = path.split(separator: "/")
        if p.count == 5, p[0] == "konto", p[1] == "antraege", p[3] == "schritt" { return true }
        if p.count == 4, p[0] == "konto", p[1] == "postfach", p[3] == "antwort" { return true }
        if p.count == 5, p[0] == "mandanten", p[2] == "antraege", p[4] == "nachricht" || p[4] == "status" { return true }
        if p.count == 4, p[0] == "kompetenzzentrum", p[1] == "veranstaltungen", p[3] == "unterlagen" { return true }
        if p.count == 4, p[0] == "foerderung", p[1] == "antraege", p[3] == "anlagen" { return true }
        if p.count == 6, p[0] == "mandanten", p[2] == "isms", p[3] == "anforderungen", p[5] == "nachweise" { return true }
        if p.count == 4, p[0] == "einkauf", p[1] == "rahmenvertraege", p[3] == "dokumente" { return true }
        return false
    }

    static let maxTextBytes = 64 * 1024
    static let maxTextTotal = 1024 * 1024

    /// `accept(field)` gives the accepted kinds of a file field (nil = field takes no files).
    static func read(_ req: Request, maxFileBytes: Int, maxFiles: Int, accept: @escaping @Sendable (String) -> [FileKind]?) async throws -> StreamedForm {
        guard let boundary = req.headers.contentType?.parameters["boundary"] else {
            throw AppError(.badRequest, "multipart", de: "Das Formular wurde nicht vollständig übertragen. Bitte senden Sie es erneut.",
                           en: "The form was not transmitted completely. Please send it again.")
        }
        let state = ParseState(storage: req.application.files, expectedCSRF: req.hasSession ? req.session.data["csrf"] : nil,
                               maxFileBytes: maxFileBytes, maxFiles: maxFiles, accept: accept)
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in state.header(name, value) }
        parser.onBody = { buffer in state.body(&buffer) }
        parser.onPartComplete = { state.complete() }
        var total = 0
        let cap = maxFiles * maxFileBytes + maxTextTotal + 64 * 1024
        func feed(_ chunk: ByteBuffer) throws {
            total += chunk.readableBytes
            if total > cap + maxFileBytes * 4 {
                throw AppError(.payloadTooLarge, "upload.total", de: "Die Übertragung ist insgesamt zu groß.", en: "The upload is too large in total.")
            }
            try parser.execute(chunk)
            if let e = state.fatal { throw e }
        }
        do {
            if let collected = req.body.data {
                try feed(collected)
            } else if req.headers.first(name: .contentLength) == "0"
                        || (req.headers.first(name: .contentLength) == nil && !req.headers.contains(name: .transferEncoding)) {
                // no body at all: nothing to stream (and Vapor must not be asked to)
            } else {
                for try await chunk in req.body { try feed(chunk) }
            }
        } catch {
            state.abortOpen()
            throw (error as? AppError) ?? AppError(.badRequest, "multipart", de: "Das Formular wurde nicht vollständig übertragen. Bitte senden Sie es erneut.",
                                                   en: "The form was not transmitted completely. Please send it again.")
        }
        if let e = state.fatal { throw e }
        guard state.csrfOK else { throw AppError.csrf }
        // spooled files go to the store (object storage: uploaded in parts; local: nothing to do)
        for f in state.form.files {
            guard let sha = f.sha256 else { continue }
            do { try await req.application.files.publish(sha) } catch {
                req.logger.error("Ablage einer hochgeladenen Datei fehlgeschlagen: \(error)")
                throw AppError(.serviceUnavailable, "storage", de: "Die Datei konnte nicht gespeichert werden. Bitte versuchen Sie es in einigen Minuten erneut.",
                               en: "The file could not be stored. Please try again in a few minutes.")
            }
        }
        return state.form
    }

    final class ParseState: @unchecked Sendable {
        let storage: any FileStorage
        let expectedCSRF: String?
        let maxFileBytes: Int
        let maxFiles: Int
        let accept: @Sendable (String) -> [FileKind]?
        var form = StreamedForm()
        var fatal: AppError?
        var csrfOK = false
        var textTotal = 0
        // current part
        var name = ""
        var filename: String?
        var text: [UInt8] = []
        var sink: UploadSink?
        var tooLarge = false
        var fileBytes = 0

        init(storage: any FileStorage, expectedCSRF: String?, maxFileBytes: Int, maxFiles: Int, accept: @escaping @Sendable (String) -> [FileKind]?) {
            self.storage = storage; self.expectedCSRF = expectedCSRF; self.maxFileBytes = maxFileBytes; self.maxFiles = maxFiles; self.accept = accept
        }

        func header(_ field: String, _ value: String) {
            guard field.lowercased() == "content-disposition" else { return }
            for param in value.split(separator: ";").dropFirst() {
                let kv = param.trimmingCharacters(in: .whitespaces)
                if kv.hasPrefix("name=") { name = Self.unquote(String(kv.dropFirst(5))) }
                if kv.hasPrefix("filename=") { filename = Self.unquote(String(kv.dropFirst(9))) }
            }
        }

        static func unquote(_ s: String) -> String {
            var v = s
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }

        func body(_ buffer: inout ByteBuffer) {
            guard fatal == nil else { return }
            if let filename, !filename.isEmpty {
                guard csrfOK else { fatal = AppError.csrf; return }
                guard accept(name) != nil else { return }  // not a file field: ignored
                if tooLarge { return }
                fileBytes += buffer.readableBytes
                if fileBytes > maxFileBytes {
                    tooLarge = true
                    sink?.abort(); sink = nil
                    return
                }
                do {
                    if sink == nil { sink = try storage.beginUpload() }
                    try buffer.withUnsafeReadableBytes { try sink?.write($0) }
                } catch {
                    fatal = AppError(.internalServerError, "storage", de: "Die Datei konnte nicht gespeichert werden. Bitte versuchen Sie es später erneut.",
                                     en: "The file could not be stored. Please try again later.")
                }
            } else if filename == nil {
                textTotal += buffer.readableBytes
                if text.count + buffer.readableBytes > StreamedUpload.maxTextBytes || textTotal > StreamedUpload.maxTextTotal {
                    fatal = AppError(.payloadTooLarge, "form.too_large", de: "Eine Eingabe ist zu lang.", en: "An entry is too long.")
                    return
                }
                text.append(contentsOf: buffer.readableBytesView)
            }
        }

        func complete() {
            defer { name = ""; filename = nil; text = []; sink = nil; tooLarge = false; fileBytes = 0 }
            guard fatal == nil else { sink?.abort(); return }
            if let filename {
                guard !filename.isEmpty, let kinds = accept(name) else { sink?.abort(); return }
                let display = String(filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "datei").prefix(120)
                var file = UploadedFile(field: name, name: String(display), kind: nil, size: fileBytes, sha256: nil, error: nil)
                let allowed = kinds.map(\.label).joined(separator: ", ")
                if tooLarge {
                    file.error = FieldError(field: name, message: "Die Datei „\(display)“ ist zu groß: höchstens \(StreamedUpload.megabytes(maxFileBytes)) sind erlaubt. Ihre übrigen Angaben sind gespeichert.")
                } else if form.files.filter({ $0.sha256 != nil }).count >= maxFiles {
                    file.error = FieldError(field: name, message: "Es sind höchstens \(maxFiles) Dateien möglich.")
                    sink?.abort()
                } else if fileBytes == 0 {
                    file.error = FieldError(field: name, message: "Die Datei „\(display)“ ist leer.")
                    sink?.abort()
                } else if let sink {
                    let kind = FileKind.detect(sink.head)
                    let ext = display.split(separator: ".").last.map { $0.lowercased() } ?? ""
                    let namedKind = FileKind.allCases.first { $0.extensions.contains(ext) }
                    if kind == nil || !kinds.contains(kind!) {
                        let named = namedKind.map { " Der Name endet auf „.\(ext)“, der Inhalt ist aber kein \($0.label)." } ?? ""
                        file.error = FieldError(field: name, message: "Die Datei „\(display)“ ist keine zugelassene Datei (erlaubt: \(allowed)).\(named) Bitte laden Sie die richtige Datei hoch.")
                        sink.abort()
                    } else if let namedKind, namedKind != kind {
                        file.error = FieldError(field: name, message: "Die Datei „\(display)“ ist nicht, was ihr Name sagt: Sie heißt „.\(ext)“, ist aber ein \(kind!.label). Bitte prüfen Sie die Datei.")
                        sink.abort()
                    } else {
                        do {
                            file.sha256 = try sink.commit()
                            file.kind = kind
                        } catch {
                            fatal = AppError(.internalServerError, "storage", de: "Die Datei konnte nicht gespeichert werden. Bitte versuchen Sie es später erneut.",
                                             en: "The file could not be stored. Please try again later.")
                        }
                    }
                }
                form.files.append(file)
            } else {
                let value = String(decoding: text, as: UTF8.self)
                if name == "_csrf" {
                    if let expectedCSRF, constantTimeEqual(expectedCSRF, value) { csrfOK = true } else { fatal = AppError.csrf }
                    return
                }
                if form.fields[name] == nil { form.fields[name] = value }
                form.lists[name, default: []].append(value)
            }
        }

        func abortOpen() { sink?.abort(); sink = nil }
    }

    static func megabytes(_ n: Int) -> String { n >= 1_048_576 ? "\(n / 1_048_576) MB" : "\(max(n / 1024, 1)) KB" }
}
