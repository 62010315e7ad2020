fn main() -> std::process::ExitCode {
    vcp::cli::main()
}
