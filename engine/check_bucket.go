package engine

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aiflow/aiflow/spec"
)

// r2BucketName is R2's published bucket naming rule: 3 to 63 characters, lowercase
// letters, digits and hyphens, beginning and ending with a letter or digit
// (developers.cloudflare.com/r2/buckets/create-buckets/, "Bucket-Level Operations").
var r2BucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// bucket checks a bucket resource's literal settings at validate: the backend, the
// name R2 would refuse, the credentials r2 needs, and force_destroy's type.
func (c *checker) bucket(rn *ResourceNode, path string) {
	r := rn.Spec
	lit := rn.literal
	backend := "local"
	if v, ok := lit("backend"); ok {
		backend, _ = v.(string)
		if backend != "local" && backend != "r2" {
			c.errf(r.Setting("backend").Value.Pos, path+".backend", "allowed: local, r2", "unknown bucket backend %v%s", v, spec.DidYouMean(fmt.Sprint(v), []string{"local", "r2"}))
			return
		}
	}
	if v, ok := lit("force_destroy"); ok {
		if _, isBool := v.(bool); !isBool {
			c.errf(r.Setting("force_destroy").Value.Pos, path+".force_destroy", "true or false", "force_destroy must be a boolean, got %v", v)
		}
	}
	if backend != "r2" {
		return
	}
	for _, k := range []string{"access_key_id", "secret_access_key"} {
		if t, ok := rn.Settings[k]; ok && t.IsLiteral() {
			c.errf(r.Setting(k).Value.Pos, path+"."+k, fmt.Sprintf(`write it as ${ env("R2_%s") } and keep the value in the environment`, strings.ToUpper(k)), "%s must come from env(), not the flow file", k)
		}
		if r.Setting(k) == nil {
			c.errf(r.Pos, path+"."+k, fmt.Sprintf(`an R2 API token's S3 credential, e.g. %s: ${ env("R2_%s") }`, k, strings.ToUpper(k)), "backend r2 needs %s", k)
		}
	}
	if r.Setting("provider") == nil && r.Setting("endpoint") == nil {
		c.errf(r.Pos, path+".provider", "provider: a workers-ai provider entry (its account holds the bucket), or endpoint: an S3-compatible URL", "backend r2 needs a provider or an endpoint")
	}
	name, pos := r.Name, r.Pos
	if v, ok := lit("bucket_name"); ok {
		name, _ = v.(string)
		pos = r.Setting("bucket_name").Value.Pos
	} else if r.Setting("bucket_name") != nil {
		return // computed: checked when applied
	}
	if !r2BucketName.MatchString(name) {
		c.errf(pos, path+".bucket_name", "3 to 63 characters: lowercase letters, digits and -, starting and ending with a letter or digit (set bucket_name: when the resource's name does not fit)", "%q is not a valid R2 bucket name", name)
	}
}
