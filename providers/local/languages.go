package local

import (
	"fmt"
	"slices"
	"strings"
)

// iso6393 maps ISO 639-1 codes to the ISO 639-3 codes Apertium names its modes with.
// Serbian, Croatian and Bosnian map to Apertium's Serbo-Croatian (hbs), Malay to zlm and
// Norwegian to Bokmål (nob), as Apertium does.
var iso6393 = map[string]string{
	"af": "afr", "an": "arg", "ar": "ara", "be": "bel", "bg": "bul", "br": "bre", "bs": "hbs",
	"ca": "cat", "co": "cos", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell",
	"en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin",
	"fo": "fao", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla", "gl": "glg", "he": "heb",
	"hi": "hin", "hr": "hbs", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita",
	"ka": "kat", "kk": "kaz", "ky": "kir", "lb": "ltz", "lt": "lit", "lv": "lav", "mk": "mkd",
	"ms": "zlm", "mt": "mlt", "nb": "nob", "nl": "nld", "nn": "nno", "no": "nob", "oc": "oci",
	"pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sc": "srd", "se": "sme", "sh": "hbs",
	"sk": "slk", "sl": "slv", "sq": "sqi", "sr": "hbs", "sv": "swe", "tr": "tur", "tt": "tat",
	"uk": "ukr", "ur": "urd", "uz": "uzb",
}

// debianPackages names the Debian (bookworm) package holding each Apertium pair, keyed by
// the two ISO 639-3 codes in sorted order. Some packages still use two-letter names.
var debianPackages = map[string]string{
	"afr-nld": "apertium-afr-nld", "arg-cat": "apertium-arg-cat", "arg-spa": "apertium-spa-arg",
	"ast-spa": "apertium-spa-ast", "bel-rus": "apertium-bel-rus", "bre-fra": "apertium-br-fr",
	"cat-epo": "apertium-eo-ca", "cat-eng": "apertium-eng-cat", "cat-fra": "apertium-fra-cat",
	"cat-ita": "apertium-cat-ita", "cat-oci": "apertium-oc-ca", "cat-por": "apertium-por-cat",
	"cat-spa": "apertium-spa-cat", "cat-srd": "apertium-cat-srd", "dan-nob": "apertium-dan-nor",
	"dan-nno": "apertium-dan-nor", "dan-swe": "apertium-swe-dan", "eng-epo": "apertium-eo-en",
	"eng-eus": "apertium-eu-en", "eng-glg": "apertium-en-gl", "eng-hbs": "apertium-hbs-eng",
	"eng-isl": "apertium-isl-eng", "eng-mkd": "apertium-mkd-eng", "eng-spa": "apertium-eng-spa",
	"epo-fra": "apertium-eo-fr", "epo-spa": "apertium-eo-es", "eus-spa": "apertium-eu-es",
	"fra-frp": "apertium-fra-frp", "fra-oci": "apertium-oci-fra", "fra-spa": "apertium-fr-es",
	"glg-por": "apertium-pt-gl", "glg-spa": "apertium-es-gl", "hbs-mkd": "apertium-hbs-mkd",
	"hbs-slv": "apertium-hbs-slv", "hin-urd": "apertium-urd-hin", "ind-zlm": "apertium-ind-zlm",
	"isl-swe": "apertium-isl-swe", "ita-spa": "apertium-spa-ita", "ita-srd": "apertium-srd-ita",
	"bul-mkd": "apertium-mkd-bul", "nno-nob": "apertium-nno-nob",
	"nob-swe": "apertium-swe-nor", "nno-swe": "apertium-swe-nor", "oci-spa": "apertium-oc-es",
	"pol-szl": "apertium-pol-szl", "por-spa": "apertium-es-pt", "ron-spa": "apertium-es-ro",
	"rus-ukr": "apertium-rus-ukr",
}

// language is a parsed language code: Apertium's three-letter code, the code as given
// (lowercased) and an optional region variant ("US" in "en-US", used as "eng_US").
type language struct{ code3, given, variant string }

// parseLanguage accepts ISO 639-1 ("en"), ISO 639-3 ("eng") and either with a region
// ("en-US", "en_US").
func parseLanguage(code string) (language, error) {
	base, region, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(code), "_", "-"), "-")
	base = strings.ToLower(base)
	l := language{given: base, variant: strings.ToUpper(region)}
	switch len(base) {
	case 2:
		c3, ok := iso6393[base]
		if !ok {
			return language{}, fmt.Errorf("unknown language code %q", code)
		}
		l.code3 = c3
	case 3:
		l.code3 = base
	default:
		return language{}, fmt.Errorf("language code %q is not ISO 639-1 (two letters) or 639-3 (three)", code)
	}
	return l, nil
}

// modeNames lists the Apertium mode names that would translate from → to, preferred first.
func modeNames(from, to language) []string {
	var out []string
	add := func(a, b string) {
		if to.variant != "" {
			out = append(out, a+"-"+b+"_"+to.variant)
		}
		out = append(out, a+"-"+b)
	}
	add(from.code3, to.code3)
	if from.given != from.code3 || to.given != to.code3 {
		add(from.given, to.given)
	}
	return slices.Compact(out)
}

// debianPackage names the package that would hold the pair, and whether it is a known one.
func debianPackage(a, b string) (string, bool) {
	key := []string{a, b}
	slices.Sort(key)
	pkg, ok := debianPackages[key[0]+"-"+key[1]]
	if !ok {
		return "apertium-" + a + "-" + b, false
	}
	return pkg, true
}
