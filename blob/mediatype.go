package blob

import (
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

// SniffLen is how many leading bytes Detect looks at (what net/http sniffs).
const SniffLen = 512

// extTypes are the media types of the extensions aiflow's media steps read and write,
// so that detection does not depend on the machine's mime database (a container often
// has none, and Go's built-in table lacks audio and office formats).
var extTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".bmp": "image/bmp", ".svg": "image/svg+xml", ".avif": "image/avif",
	".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg",
	".m4a": "audio/mp4", ".webm": "audio/webm", ".mp4": "video/mp4",
	".pdf": "application/pdf", ".json": "application/json", ".html": "text/html", ".htm": "text/html",
	".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".xml": "application/xml",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".odt":  "application/vnd.oasis.opendocument.text",
	".zip":  "application/zip",
}

// typeExts is the preferred extension of each media type, including the names
// net/http's sniffer gives (audio/wave) that the table above does not.
var typeExts = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/bmp": ".bmp", "image/svg+xml": ".svg", "image/avif": ".avif",
	"audio/wav": ".wav", "audio/wave": ".wav", "audio/x-wav": ".wav", "audio/mpeg": ".mp3",
	"audio/flac": ".flac", "audio/ogg": ".ogg", "application/ogg": ".ogg", "audio/mp4": ".m4a",
	"audio/webm": ".webm", "video/mp4": ".mp4", "video/webm": ".webm",
	"application/pdf": ".pdf", "application/json": ".json", "text/html": ".html", "text/plain": ".txt",
	"text/markdown": ".md", "text/csv": ".csv", "application/xml": ".xml", "text/xml": ".xml",
	"application/zip": ".zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       ".xlsx",
	"application/vnd.oasis.opendocument.text":                                 ".odt",
}

// Generic is the media type of content that neither sniffing nor the name identifies.
const Generic = "application/octet-stream"

// Detect names the media type of content that starts with head and is called name.
// Content wins over the name (a JPEG saved as .png is image/jpeg), except where the
// sniffer can only say something generic: unknown bytes, plain text, or a zip that a
// .docx or .xlsx extension tells apart.
func Detect(head []byte, name string) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	sniffed := Base(http.DetectContentType(head))
	if sniffed == "audio/wave" {
		sniffed = "audio/wav"
	}
	byName := typeOfExt(filepath.Ext(name))
	switch sniffed {
	case Generic, "text/plain", "application/zip":
		if byName != "" {
			return byName
		}
	case "text/xml":
		if byName == "image/svg+xml" {
			return byName
		}
	}
	return sniffed
}

// typeOfExt is the media type of an extension, from the table above or the system's.
func typeOfExt(ext string) string {
	ext = strings.ToLower(ext)
	if t, ok := extTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return Base(t)
	}
	return ""
}

// Base is a media type without parameters: "text/plain; charset=utf-8" → "text/plain".
func Base(mediaType string) string {
	if i := strings.IndexByte(mediaType, ';'); i >= 0 {
		mediaType = mediaType[:i]
	}
	return strings.ToLower(strings.TrimSpace(mediaType))
}

// Ext is the usual extension (with the dot) of a media type, ".bin" when unknown.
func Ext(mediaType string) string {
	mt := Base(mediaType)
	if e, ok := typeExts[mt]; ok {
		return e
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

// Kind is the top-level type of a media type: "image", "audio", "video", "text",
// "application".
func Kind(mediaType string) string {
	mt := Base(mediaType)
	if i := strings.IndexByte(mt, '/'); i > 0 {
		return mt[:i]
	}
	return mt
}
