// Resuming a long recording from its last finished 30-second window: what a window leaves behind
// (WindowRecord) and who keeps it (TranscriptionCheckpoints, e.g. a pipeline stage's files).

/// One finished window of a file: what it added to the transcript and the state the next window
/// starts from. Replaying a file's records in order rebuilds everything the rest depends on — the
/// seek position, the segments, the previous-text prompt (all segment tokens since
/// `promptResetSince`) and the language; the fallback sampler is seeded by the window's seek, so
/// there is no other random state.
public struct WindowRecord: Codable, Sendable, Equatable {
    /// 0, 1, 2, …: the window's place in its file.
    public var window: Int
    /// Where the next window starts (frames) and in which `clip_timestamps` region.
    public var seek: Int
    public var clip: Int
    /// Previous-text prompts use the file's segment tokens from here on.
    public var promptResetSince: Int
    /// The language prompting the next window; the transcript's detected language and probability.
    public var language: String?
    public var lastSpeech: Double
    public var transcriptLanguage: String
    public var languageProbability: Float
    /// The window's generated ids and the segments it added.
    public var tokens: [Int]
    public var segments: [TranscriptSegment]

    /// Why this record cannot follow a state at (window, seek, clip, …), or nil when it can.
    func problem(window expected: Int, clip previousClip: Int, clips: Int, contentFrames: Int,
                 firstSegmentID: Int, allTokens: Int, vocabularySize: Int) -> String? {
        if window != expected { return "window \(window) where window \(expected) comes next" }
        if seek < 0 || (seek > contentFrames && clip < clips) { return "seek \(seek) outside the recording (\(contentFrames) frames)" }
        if clip < previousClip || clip > clips { return "clip \(clip) outside \(previousClip)…\(clips)" }
        let ids = segments.map(\.id)
        if ids != Array(firstSegmentID..<(firstSegmentID + segments.count)) { return "segment ids \(ids) do not follow \(firstSegmentID - 1)" }
        let newTokens = segments.reduce(0) { $0 + $1.tokens.count }
        if promptResetSince < 0 || promptResetSince > allTokens + newTokens { return "prompt start \(promptResetSince) past the tokens" }
        let valid = 0..<vocabularySize
        if !(tokens + segments.flatMap(\.tokens)).allSatisfy(valid.contains) { return "token ids outside the vocabulary" }
        return nil
    }
}

/// Keeps each file's finished windows so that an interrupted transcription resumes where it was.
/// Called on the transcriber's thread, between steps.
public protocol TranscriptionCheckpoints: AnyObject {
    /// The windows file `file` already finished, in order (empty: start from the beginning).
    func finishedWindows(_ file: Int) -> [WindowRecord]
    /// File `file` finished another window.
    func windowFinished(_ file: Int, _ record: WindowRecord)
    /// The windows `finishedWindows` gave do not fit the recording (`reason`): the file starts over.
    func rejected(_ file: Int, reason: String)
}
