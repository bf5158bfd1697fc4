// `report`: query, compare and plot past runs.
@main
struct Report {
    static func main() {}
}
