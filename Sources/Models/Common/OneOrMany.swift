/// A value or a list of values in an options file (`sidecars: srt` or `sidecars: [srt, vtt]`,
/// `stop: "\n"` or `stop: [".", "\n"]`).
public struct OneOrMany<T: Decodable>: Decodable {
    public var values: [T]
    public init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var values: [T] = []
            while !list.isAtEnd { values.append(try list.decode(T.self)) }
            self.values = values
        } else {
            values = [try T(from: decoder)]
        }
    }
}
