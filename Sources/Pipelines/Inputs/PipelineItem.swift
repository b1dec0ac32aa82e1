import Foundation

/// One unit of work: a media file, with the fields its manifest row (or input) gave it.
public struct PipelineItem: Sendable, Equatable {
    /// Stable identity across runs, shards and machines: the manifest's id, else `input`.
    public var id: String
    /// The path as the pipeline names it (relative to the pipeline file's folder, or absolute).
    public var input: String
    /// Absolute path read.
    public var path: String
    public var media: MediaType
    /// File size when listed (0 if missing); a changed size means the item is redone.
    public var bytes: Int64
    /// Manifest columns (other than path and id) and input `fields`.
    public var fields: [String: String]
    /// Position in the pipeline's full item list (before sharding).
    public var index: Int
    /// Relative path (without extension unless needed to tell files apart) for sidecar files.
    public var sidecarName: String
    /// Where the item was listed, for messages: `pipeline.yaml:7` or `items.csv:12`.
    public var source: String

    /// Template values under `item.`: id, input, media, and every field.
    public var templateValues: [String: String] {
        var values = fields
        values["id"] = id
        values["input"] = input
        values["media"] = media.mime
        return values
    }
}
