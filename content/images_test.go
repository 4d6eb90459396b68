package content

import (
	"net/url"
	"strings"
	"testing"
)

// imagePage returns a page whose article holds extra, built for the
// tests of prepareImages.
func imagePage(extra string) string {
	para := strings.Repeat("Gazprom announced on Tuesday that deliveries through the Yamal pipeline would be reduced for the coming weeks. ", 6)
	return `<html><head><title>Gas deliveries cut</title></head><body>
<nav><a href="/">Home</a> <a href="/energy">Energy</a></nav>
<article><h1>Gas deliveries cut</h1><p>` + para + `</p>` + extra + `<p>` + para + `</p></article>
<footer>© Energetyka24</footer></body></html>`
}

func extractMarkdown(t *testing.T, page string) string {
	t.Helper()
	doc, err := Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://energetyka24.com/gas/article")
	res, err := Extract(doc, base, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Markdown
}

// TestImageAdLinkDropped checks that an image that is the only content
// of a link to another site (an advertisement, a call to action, as on
// energetyka24.com and in HubSpot's CTAs) is left out of the Markdown
// with its link, while an image linking to a larger copy of itself on
// the same site is kept.
func TestImageAdLinkDropped(t *testing.T) {
	md := extractMarkdown(t, imagePage(`<p><a href="https://sklep.defence24.pl/produkt/black-gold-2/" target="_blank"><img src="/upload/2020-09-17/qgt05i_OKBLACKGOLD720x360new.jpg" alt="Reklama"></a></p>
<span class="hs-cta-wrapper"><a href="https://cta-redirect.hubspot.com/cta/redirect/1883108/71427a9f"><img class="hs-cta-img" src="https://no-cache.hubspot.com/cta/default/1883108/71427a9f.png" alt="New Call-to-action"/></a></span>
<p><a href="/upload/pipeline-large.jpg"><img src="/upload/pipeline.jpg" alt="pipeline"></a></p>`))
	for _, bad := range []string{"defence24", "OKBLACKGOLD", "hubspot"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds the advertisement %q:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, "https://energetyka24.com/upload/pipeline.jpg") || !strings.Contains(md, "https://energetyka24.com/upload/pipeline-large.jpg") {
		t.Errorf("markdown lost the image linked on the same site:\n%s", md)
	}
}

// TestImageWordsDropped checks that an image's title (a caption with a
// credit, as on jagdleben.de), an alt text that repeats the file name,
// the title of a link around an image (as on pferderevue.at) and a
// photo credit in an alt text ("(REUTERS/…)", as on infobae.com, "©")
// are left out of the Markdown, while the image and the rest of its alt
// text are kept.
func TestImageWordsDropped(t *testing.T) {
	md := extractMarkdown(t, imagePage(`<figure><img src="/files/GRMJYBRDPJFCDQZWQC3DR7FMHM.jpg" alt="Dmitry Muratov, periodista ruso (REUTERS/Denis Balibouse)"></figure>
<figure><img src="/files/award.jpg" alt="Logo of the Sustainable Award © Springer Fachmedien Wiesbaden GmbH"></figure>
<p><img src="/public/2022-01/waldwege-versperrt-47415538.jpg" alt="Waldwege-versperrt" title="Wer die Äste immer wieder auf die Wege zieht, ist unklar (Symbolbild)."></p>
<p><a href="/content/richtext.lightbox.jpg/05_Brustbein_rein.jpg" title="<p>Bei der Beckenkippung nach hinten sinkt der Brustkorb ein.</p>"><img src="/content/richtext.jpg/05_Brustbein_rein.jpg"></a></p>`))
	for _, bad := range []string{"REUTERS", "Springer", "Waldwege-versperrt", "Symbolbild", "Beckenkippung"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds the image's words %q:\n%s", bad, md)
		}
	}
	for _, img := range []string{"![Dmitry Muratov, periodista ruso](https://energetyka24.com/files/GRMJYBRDPJFCDQZWQC3DR7FMHM.jpg)", "![Logo of the Sustainable Award](https://energetyka24.com/files/award.jpg)", "![](https://energetyka24.com/public/2022-01/waldwege-versperrt-47415538.jpg)", "05_Brustbein_rein.jpg"} {
		if !strings.Contains(md, img) {
			t.Errorf("markdown lost the image %q:\n%s", img, md)
		}
	}
}

// TestCaptionAltDropped checks that an image's alt text that repeats its
// caption (a <figcaption> as on infobae.com, a "wp-caption-text" beside
// the image's block as on tennismagazin.de, credit left aside as on
// zeit.de), which the Markdown leaves out, is dropped with it, while an
// alt text that says something else is kept.
func TestCaptionAltDropped(t *testing.T) {
	md := extractMarkdown(t, imagePage(`<div class="visual__image"><img alt="Dmitry Muratov, tras el ataque sufrido a principios de abril" src="/files/KHTE27I4MJBJBFZTXSONRMNTIU.jpg"><figcaption>Dmitry Muratov, tras el ataque sufrido a principios de abril</figcaption></div>
<div class="grid__item article__featured-image"><div class="image-wrap"><img src="/uploads/2022/02/zverev-335x251.jpg" alt="Alexander Zverev steht im Viertelfinale des ATP-Turniers"></div><div class="wp-caption"><p class="wp-caption-text">Alexander Zverev steht im Viertelfinale des ATP-Turniers (Foto: Getty Images)</p></div></div>
<figure><img alt="Klimaschutz: Eine Fracking-Anlage zur Förderung von Gas im US-Bundesstaat Pennsylvania" src="/2019/43/bohren-bild-1/wide__822x462"><figcaption><span class="figure__text">Eine Fracking-Anlage zur Förderung von Gas im US-Bundesstaat Pennsylvania</span> <span class="figure__copyright">© Noah Addis</span></figcaption></figure>
<figure><img alt="A pipeline valve at the Mallnow compressor station" src="/files/valve.jpg"><figcaption>Deliveries fell by half in May</figcaption></figure>`))
	for _, bad := range []string{"Muratov", "Zverev steht", "Pennsylvania"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds the caption %q:\n%s", bad, md)
		}
	}
	for _, img := range []string{"![](https://energetyka24.com/files/KHTE27I4MJBJBFZTXSONRMNTIU.jpg)", "![](https://energetyka24.com/uploads/2022/02/zverev-335x251.jpg)", "![](https://energetyka24.com/2019/43/bohren-bild-1/wide__822x462)", "![A pipeline valve at the Mallnow compressor station](https://energetyka24.com/files/valve.jpg)"} {
		if !strings.Contains(md, img) {
			t.Errorf("markdown lacks %q:\n%s", img, md)
		}
	}
}
