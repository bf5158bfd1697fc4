// `runner`: train runs and sweeps into the Slope database.
@main
struct Runner {
    static func main() {}
}
