// A strict RFC 8259 JSON reader that keeps each value's line and column, so a schema read from a
// .json file (or converted from a YAML mapping) can point its errors at FILE:LINE:COLUMN.

import Foundation

/// A JSON value with where it starts (1-based line and column; 0 when unknown).
public struct JSONNode: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        /// The number as written (so `1` and `1.0` stay apart, and no precision is lost).
        case number(String)
        case string(String)
        case array([JSONNode])
        /// Members in document order; `keyLine`/`keyColumn` locate the key itself.
        case object([Member])
    }
    public struct Member: Sendable, Equatable {
        public var key: String
        public var keyLine: Int, keyColumn: Int
        public var value: JSONNode
        public init(key: String, keyLine: Int, keyColumn: Int, value: JSONNode) {
            self.key = key; self.keyLine = keyLine; self.keyColumn = keyColumn; self.value = value
        }
    }
    public var value: Value
    public var line: Int, column: Int
    public init(_ value: Value, line: Int = 0, column: Int = 0) { self.value = value; self.line = line; self.column = column }

    /// The value in compact JSON text (object members in document order): the bytes an `enum` or
    /// `const` member must be generated as.
    public var compactText: String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return JSONNode.quoted(s)
        case .array(let items): return "[" + items.map(\.compactText).joined(separator: ",") + "]"
        case .object(let members): return "{" + members.map { JSONNode.quoted($0.key) + ":" + $0.value.compactText }.joined(separator: ",") + "}"
        }
    }

    /// `s` as a JSON string literal: `"` `\` and control characters escaped, everything else as is.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A JSON syntax error at a line and column (1-based).
public struct JSONTextError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int, column: Int, message: String
    public var description: String { "\(line):\(column): \(message)" }
}

extension JSONNode {
    /// Parses one JSON document (UTF-8); nesting deeper than `maxDepth` is refused.
    public static func parse(_ data: Data, maxDepth: Int = 64) throws -> JSONNode {
        var reader = JSONReader(bytes: Array(data), maxDepth: maxDepth)
        reader.skipSpace()
        let node = try reader.value(depth: 0)
        reader.skipSpace()
        if reader.position < reader.bytes.count { throw reader.error("unexpected text after the JSON value") }
        return node
    }

    public static func parse(_ text: String, maxDepth: Int = 64) throws -> JSONNode { try parse(Data(text.utf8), maxDepth: maxDepth) }
}

private struct JSONReader {
    let bytes: [UInt8]
    let maxDepth: Int
    var position = 0, line = 1, lineStart = 0

    init(bytes: [UInt8], maxDepth: Int) { self.bytes = bytes; self.maxDepth = maxDepth }

    var column: Int { position - lineStart + 1 }
    func error(_ message: String) -> JSONTextError { JSONTextError(line: line, column: column, message: message) }
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
            position += 1
            if b == 0x0A { line += 1; lineStart = position }
        }
    }

    mutating func expect(_ literal: String, _ value: JSONNode.Value) throws -> JSONNode {
        let (l, c) = (line, column)
        for b in literal.utf8 {
            guard peek == b else { throw error("expected '\(literal)'") }
            position += 1
        }
        return JSONNode(value, line: l, column: c)
    }

    mutating func value(depth: Int) throws -> JSONNode {
        guard depth <= maxDepth else { throw error("nested deeper than \(maxDepth) levels") }
        let (l, c) = (line, column)
        guard let b = peek else { throw error("unexpected end of the document (expected a value)") }
        switch b {
        case UInt8(ascii: "{"):
            position += 1
            var members: [JSONNode.Member] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { position += 1; return JSONNode(.object([]), line: l, column: c) }
            while true {
                skipSpace()
                let (kl, kc) = (line, column)
                guard peek == UInt8(ascii: "\"") else { throw error("expected a member name in double quotes") }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw error("expected ':' after the member name") }
                position += 1
                skipSpace()
                members.append(.init(key: key, keyLine: kl, keyColumn: kc, value: try value(depth: depth + 1)))
                skipSpace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                if peek == UInt8(ascii: "}") { position += 1; return JSONNode(.object(members), line: l, column: c) }
                throw error("expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONNode] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { position += 1; return JSONNode(.array([]), line: l, column: c) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                if peek == UInt8(ascii: "]") { position += 1; return JSONNode(.array(items), line: l, column: c) }
                throw error("expected ',' or ']' in an array")
            }
        case UInt8(ascii: "\""): return JSONNode(.string(try string()), line: l, column: c)
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return JSONNode(.number(try number()), line: l, column: c)
        default: throw error("unexpected character '\(Character(Unicode.Scalar(b)))' (expected a JSON value)")
        }
    }

    mutating func digits() -> Int {
        let start = position
        while let b = peek, b >= 0x30 && b <= 0x39 { position += 1 }
        return position - start
    }

    mutating func number() throws -> String {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") { position += 1 } else if digits() == 0 { throw error("expected a digit") }
        if peek == UInt8(ascii: ".") {
            position += 1
            if digits() == 0 { throw error("expected a digit after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            if digits() == 0 { throw error("expected a digit in the exponent") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let b = peek, let d = hexValue(b) else { throw error("expected 4 hex digits after \\u") }
            v = v << 4 | d
            position += 1
        }
        return v
    }

    /// A string literal; the position is at its opening quote.
    mutating func string() throws -> String {
        position += 1
        var out: [UInt8] = []
        while true {
            guard let b = peek else { throw error("unterminated string") }
            if b == UInt8(ascii: "\"") { position += 1; break }
            if b < 0x20 { throw error("control character in a string (write it escaped)") }
            if b != UInt8(ascii: "\\") { out.append(b); position += 1; continue }
            position += 1
            guard let e = peek else { throw error("unterminated escape") }
            position += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek == UInt8(ascii: "\\") else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    position += 1
                    guard peek == UInt8(ascii: "u") else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    position += 1
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired UTF-16 surrogate in \\u escape")
                }
                out += Array(String(Unicode.Scalar(scalar)!).utf8)
            default: throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw error("the string is not valid UTF-8") }
        return text
    }
}

private func hexValue(_ b: UInt8) -> UInt32? {
    switch b {
    case 0x30...0x39: return UInt32(b - 0x30)
    case 0x41...0x46: return UInt32(b - 0x41 + 10)
    case 0x61...0x66: return UInt32(b - 0x61 + 10)
    default: return nil
    }
}
