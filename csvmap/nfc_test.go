package csvmap
import ("testing";"fmt";"golang.org/x/text/unicode/norm")
func TestNFCProps(t *testing.T) {
	for _, r := range []rune{0x80, 0xC5, 0x17F, 0x41} {
		s := string(r); p := norm.NFC.PropertiesString(s)
		fmt.Printf("%U normal=%v bb=%v ba=%v ccc=%d decomp=%q\n", r, norm.NFC.IsNormalString(s), p.BoundaryBefore(), p.BoundaryAfter(), p.CCC(), p.Decomposition())
	}
	fmt.Println(norm.NFC.IsNormalString("A\u030A"), norm.NFC.String("A\u030A") == "\u00C5")
}
