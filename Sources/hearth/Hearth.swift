import ArgumentParser

@main
struct Hearth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Offline, auditable batch transcription, captioning and question answering.",
        subcommands: [TranscribeCommand.self, CaptionCommand.self, DetectCommand.self, ClassifyCommand.self, AskCommand.self, SearchCommand.self, RunCommand.self, ValidateCommand.self, MergeCommand.self, ReportCommand.self,
                      ModelsCommand.self])

    static func main() {
        BLASCoreType.reexecIfGenericKernels()
        main(nil)
    }
}
