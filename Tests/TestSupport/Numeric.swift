/// Largest |a[i] − b[i]|; NaN anywhere, or different lengths, make the result +inf so the
/// assertion on it fails (one test, not the whole process).
public func maxAbsError(_ a: [Float], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    var worst = 0.0
    for i in a.indices {
        let e = abs(Double(a[i]) - b[i])
        if e.isNaN { return .infinity }
        worst = max(worst, e)
    }
    return worst
}

/// Largest |a[i] − b[i]| of two equally long slices (0 when empty; +inf when the lengths differ).
public func maxAbsDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Largest |a[i] − b[i]| over the common prefix of `a` and `b` (0 when empty).
public func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

/// Bytes of an array of trivial values (host byte order).
public func bytesOf<T>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}
