fn main() {
    std::process::exit(quayside::run_cli());
}
