/// All user-facing texts of the web interface, one catalogue per language (German first).
/// Keys use `_` because templates read them as `t.key`.
enum Texts {
    static let de: [String: String] = TextsDE.all
    static let en: [String: String] = TextsEN.all
}
