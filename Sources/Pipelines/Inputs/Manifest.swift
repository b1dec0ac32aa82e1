import Foundation

/// Manifest readers: CSV/TSV (RFC 4180: a header row, quoted fields with `""` escapes and line
/// breaks) and JSONL (one JSON object per line). Rows come back with their 1-based line numbers.
enum Manifest {
    struct ParseError: Error {
        let line: Int
        let message: String
    }

    static func csv(_ text: String, separator: Character = ",") throws -> [(line: Int, fields: [String: String])] {
        var records: [(line: Int, cells: [String])] = []
        var cells: [String] = []
        var cell = ""
        var quoted = false, wasQuoted = false
        var line = 1, recordLine = 1
        var chars = Array(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text)
        chars.append("\n")
        var i = 0
        func endRecord() {
            cells.append(cell)
            if !(cells.count == 1 && cells[0].isEmpty && !wasQuoted) { records.append((recordLine, cells)) }
            cells = []; cell = ""; wasQuoted = false
        }
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { cell.append("\""); i += 1 } else { quoted = false }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    cell.append(c)
                }
            } else if c == "\"" && cell.isEmpty {
                quoted = true; wasQuoted = true
            } else if c == separator {
                cells.append(cell); cell = ""; wasQuoted = false
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                endRecord()
                line += 1
                recordLine = line
            } else {
                cell.append(c)
            }
            i += 1
        }
        if quoted { throw ParseError(line: recordLine, message: "a quoted field is not closed") }
        guard let header = records.first else { return [] }
        let names = header.cells.map { $0.trimmingCharacters(in: .whitespaces) }
        if let empty = names.firstIndex(of: "") {
            throw ParseError(line: header.line, message: "column \(empty + 1) of the header has no name")
        }
        if Set(names).count != names.count { throw ParseError(line: header.line, message: "the header repeats a column name") }
        return try records.dropFirst().map { record in
            guard record.cells.count == names.count else {
                throw ParseError(line: record.line, message: "\(record.cells.count) fields, the header has \(names.count)")
            }
            return (record.line, Dictionary(uniqueKeysWithValues: zip(names, record.cells)))
        }
    }

    static func jsonLines(_ text: String) throws -> [(line: Int, fields: [String: String])] {
        var rows: [(line: Int, fields: [String: String])] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
                throw ParseError(line: n + 1, message: "not valid JSON")
            }
            guard case .object(let object) = value else { throw ParseError(line: n + 1, message: "expected a JSON object") }
            rows.append((n + 1, object.compactMapValues(\.text)))
        }
        return rows
    }
}
