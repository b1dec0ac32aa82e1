// A Decodable decoder over a Yams `Node` tree (from `Yams.compose`), strict where YAMLDecoder is
// lenient: a key that the target type does not declare is an error (recorded, decoding goes on),
// and every error keeps its coding path so `PipelineDiagnostic.locate` can find its line/column.

import Foundation
import Yams

/// Errors found while decoding that do not stop it (unknown and duplicate keys).
final class DecodingIssues {
    var errors: [DecodingError] = []
}

struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [CodingKey]
    let issues: DecodingIssues
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Decodes `T` from `node`; hard errors are thrown, soft ones land in `issues`.
    static func decode<T: Decodable>(_ type: T.Type, from node: Node, issues: DecodingIssues) throws -> T {
        try T(from: NodeDecoder(node: node, codingPath: [], issues: issues))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else {
            throw mismatch(Node.Mapping.self, "a mapping (key: value lines)", node, codingPath)
        }
        return KeyedDecodingContainer(try KeyedNodeContainer<Key>(mapping: mapping, codingPath: codingPath, issues: issues))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = node else {
            throw mismatch(Node.Sequence.self, "a list", node, codingPath)
        }
        return UnkeyedNodeContainer(nodes: Array(sequence), codingPath: codingPath, issues: issues)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }
}

/// Names a node's kind for messages: "a list", "a mapping", "'abc'".
func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let s): return s.string.isEmpty ? "an empty value" : "'\(s.string)'"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
}

private func mismatch(_ type: Any.Type, _ expected: String, _ node: Node, _ path: [CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(expected), found \(describe(node))"))
}

/// A coding key for list indices and unknown keys.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
}

// MARK: Scalars

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { node.null != nil }

    private func scalar<T>(_ expected: String, _ build: (Node.Scalar) -> T?) throws -> T {
        guard case .scalar(let s) = node, let value = build(s) else { throw mismatch(T.self, expected, node, codingPath) }
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool { try scalar("true or false", Bool.construct) }
    func decode(_ type: String.Type) throws -> String {
        try scalar("a string") { Node.scalar($0).null != nil && $0.string.isEmpty ? nil : $0.string }
    }
    func decode(_ type: Double.Type) throws -> Double { try scalar("a number", Double.construct) }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int.Type) throws -> Int { try scalar("an integer", Int.construct) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }

    private func integer<T: FixedWidthInteger>() throws -> T {
        try scalar("an integer in \(T.min)...\(T.max)") { Int.construct(from: $0).flatMap { T(exactly: $0) } }
    }
}

// MARK: Mappings

private struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let codingPath: [CodingKey]
    let issues: DecodingIssues
    private let values: [String: Node]
    let allKeys: [Key]

    init(mapping: Node.Mapping, codingPath: [CodingKey], issues: DecodingIssues) throws {
        self.codingPath = codingPath
        self.issues = issues
        var values: [String: Node] = [:]
        var keys: [Key] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let k) = keyNode else {
                throw DecodingError.typeMismatch(String.self, .init(
                    codingPath: codingPath, debugDescription: "keys must be plain words, found \(describe(keyNode))"))
            }
            let path = codingPath + [AnyKey(stringValue: k.string)]
            if values[k.string] != nil {
                issues.errors.append(.dataCorrupted(.init(codingPath: path, debugDescription: "duplicate key '\(k.string)'")))
                continue
            }
            guard let key = Key(stringValue: k.string) else {
                issues.errors.append(.dataCorrupted(.init(codingPath: path, debugDescription: Self.unknownKeyMessage(k.string))))
                continue
            }
            values[k.string] = value
            keys.append(key)
        }
        self.values = values
        allKeys = keys
    }

    /// "unknown key 'batchsize' (did you mean 'batch_size'? known keys: …)"
    static func unknownKeyMessage(_ key: String) -> String {
        guard let keyType = Key.self as? any (CaseIterable & CodingKey).Type else { return "unknown key '\(key)'" }
        let names = caseNames(keyType)
        let close = names.min { editDistance($0, key) < editDistance($1, key) }
        let hint = close.map { editDistance($0, key) <= 2 ? "did you mean '\($0)'? " : "" } ?? ""
        return "unknown key '\(key)' (\(hint)known keys: \(names.joined(separator: ", ")))"
    }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }

    private func node(_ key: Key) throws -> Node {
        guard let node = values[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing key '\(key.stringValue)'"))
        }
        return node
    }

    private func decoder(_ key: Key) throws -> NodeDecoder {
        NodeDecoder(node: try node(key), codingPath: codingPath + [key], issues: issues)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try node(key).null != nil }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: decoder(key)) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = values[key.stringValue], node.null == nil else { return nil }
        return try T(from: NodeDecoder(node: node, codingPath: codingPath + [key], issues: issues))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try decoder(key).unkeyedContainer() }
    func superDecoder() throws -> Decoder { try decoder(Key(stringValue: "super")!) }
    func superDecoder(forKey key: Key) throws -> Decoder { try decoder(key) }
}

// MARK: Lists

private struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let nodes: [Node]
    let codingPath: [CodingKey]
    let issues: DecodingIssues
    var currentIndex = 0
    var count: Int? { nodes.count }
    var isAtEnd: Bool { currentIndex >= nodes.count }

    init(nodes: [Node], codingPath: [CodingKey], issues: DecodingIssues) {
        self.nodes = nodes; self.codingPath = codingPath; self.issues = issues
    }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "list is too short"))
        }
        defer { currentIndex += 1 }
        return NodeDecoder(node: nodes[currentIndex], codingPath: codingPath + [AnyKey(intValue: currentIndex)], issues: issues)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, nodes[currentIndex].null != nil else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

func caseNames<K: CaseIterable & CodingKey>(_ type: K.Type) -> [String] { K.allCases.map(\.stringValue) }

/// Levenshtein distance over characters (for "did you mean" hints).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}
