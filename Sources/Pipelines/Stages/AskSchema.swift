// `schema:` of an ask stage — a JSON Schema written inline (a YAML mapping) or as a path to a
// .json file relative to the pipeline file — read with positions, so a schema the grammar cannot
// express is refused at validation with FILE:LINE:COLUMN (the pipeline file's for inline schemas,
// the .json file's otherwise).

import Decoding
import Foundation
import Yams

/// The schema as written, before it is read and compiled.
enum SchemaSource: Sendable {
    case inline(JSONNode)
    /// The path as written, and where it is written in the pipeline file.
    case file(String, line: Int?, column: Int?)
}

/// A problem an option found after decoding, where it is: in the pipeline file at `key` (below the
/// stage's `options`), or in another `file` at a line and column.
struct OptionProblem: Error, Sendable {
    var key: [String]
    var file: String? = nil
    var line: Int? = nil, column: Int? = nil
    var message: String
}

/// Options that check more than decoding can: files they name, positions inside them.
protocol ResolvableOptions: StageOptions {
    /// `directory`: the pipeline file's folder (relative paths start there); `displayDirectory`:
    /// the same as the user wrote it, for messages.
    mutating func resolve(directory: URL, displayDirectory: String) -> [OptionProblem]
}

extension SchemaSource {
    /// Reads the `schema` value of an options mapping: a mapping is a schema, a string a path.
    static func decode(from decoder: Decoder) throws -> SchemaSource {
        if let nodes = decoder as? NodeDecoder {
            switch nodes.node {
            case .scalar(let s): return .file(s.string, line: s.mark?.line, column: s.mark?.column)
            case .mapping: return .inline(try jsonNode(nodes.node, codingPath: decoder.codingPath))
            case .sequence:
                throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath,
                    debugDescription: "expected a JSON Schema (a mapping) or the path of a .json file, found a list"))
            }
        }
        // Another decoder (JSON provenance): the value without positions.
        let value = try JSONValue(from: decoder)
        if let path = value.stringValue { return .file(path, line: nil, column: nil) }
        return .inline(try JSONNode.parse(String(decoding: JSONEncoder.records.encode(value), as: UTF8.self)))
    }

    /// A YAML node as JSON, keeping its marks: plain scalars are resolved (null, booleans, numbers),
    /// quoted ones are strings.
    static func jsonNode(_ node: Node, codingPath: [CodingKey]) throws -> JSONNode {
        let line = node.mark?.line ?? 0, column = node.mark?.column ?? 0
        switch node {
        case .scalar(let s):
            guard s.style == .plain else { return JSONNode(.string(s.string), line: line, column: column) }
            if node.null != nil { return JSONNode(.null, line: line, column: column) }
            if let b = Bool.construct(from: s) { return JSONNode(.bool(b), line: line, column: column) }
            if let i = Int.construct(from: s) { return JSONNode(.number(String(i)), line: line, column: column) }
            if let d = Double.construct(from: s), d.isFinite { return JSONNode(.number("\(d)"), line: line, column: column) }
            return JSONNode(.string(s.string), line: line, column: column)
        case .sequence(let items):
            return JSONNode(.array(try items.enumerated().map { i, item in
                try jsonNode(item, codingPath: codingPath + [AnyKey(intValue: i)])
            }), line: line, column: column)
        case .mapping(let pairs):
            var members: [JSONNode.Member] = []
            for (key, value) in pairs {
                guard case .scalar(let k) = key else {
                    throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "schema keys must be plain words"))
                }
                members.append(.init(key: k.string, keyLine: key.mark?.line ?? line, keyColumn: key.mark?.column ?? column,
                                     value: try jsonNode(value, codingPath: codingPath + [AnyKey(stringValue: k.string)])))
            }
            return JSONNode(.object(members), line: line, column: column)
        }
    }

    /// Reads (for a file) and compiles the schema; problems carry positions.
    func compile(directory: URL, displayDirectory: String) -> Result<(JSONSchema, JSONNode), OptionProblem> {
        switch self {
        case .inline(let document):
            do { return .success((try JSONSchema(document), document)) } catch let e as SchemaError {
                return .failure(OptionProblem(key: ["schema"], line: e.line, column: e.column, message: "schema: \(e)"))
            } catch { return .failure(OptionProblem(key: ["schema"], message: "\(error)")) }
        case .file(let path, let line, let column):
            let url = URL(fileURLWithPath: path, relativeTo: directory).standardizedFileURL
            let display = path.hasPrefix("/") || displayDirectory.isEmpty ? path : (displayDirectory as NSString).appendingPathComponent(path)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                return .failure(OptionProblem(key: ["schema"], line: line, column: column,
                                              message: "cannot read the schema file '\(display)' (give a JSON Schema mapping or the path of a .json file)"))
            }
            do {
                let document = try JSONNode.parse(data)
                return .success((try JSONSchema(document), document))
            } catch let e as JSONTextError {
                return .failure(OptionProblem(key: [], file: display, line: e.line, column: e.column, message: "not valid JSON: \(e.message)"))
            } catch let e as SchemaError {
                return .failure(OptionProblem(key: [], file: display, line: e.line, column: e.column, message: "schema: \(e)"))
            } catch {
                return .failure(OptionProblem(key: [], file: display, message: "\(error)"))
            }
        }
    }
}

extension JSONValue {
    /// A parsed JSON document as a record value (integers stay integers).
    init(_ node: JSONNode) {
        switch node.value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let text): self = Int64(text).map(JSONValue.int) ?? .double(Double(text) ?? .nan)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(Dictionary(members.map { ($0.key, JSONValue($0.value)) }, uniquingKeysWith: { $1 }))
        }
    }
}
