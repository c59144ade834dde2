import ArgumentParser

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure TinyConv: kernels at layer shapes, and full training steps of model variants.",
        subcommands: [StepCommand.self, KernelsCommand.self, TuneCommand.self, ScalingCommand.self, PlotProfileCommand.self, PlotCurvesCommand.self],
        defaultSubcommand: StepCommand.self)
}
