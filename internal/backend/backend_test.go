package backend

import (
	"strings"
	"testing"
)

func TestRepositoryString(t *testing.T) {
	tests := map[string]struct {
		b       Backend
		want    string
		wantErr string
	}{
		"local":                    {b: Backend{Provider: "local", Bucket: "/repo"}, want: "/repo"},
		"local with prefix":        {b: Backend{Provider: "local", Bucket: "/repo/", Prefix: "/a/b/"}, want: "/repo/a/b"},
		"local without mount path": {b: Backend{Provider: "local"}, wantErr: "local backend needs --bucket"},
		"s3 default endpoint":      {b: Backend{Provider: "s3", Bucket: "bkt", Prefix: "p"}, want: "s3:s3.amazonaws.com/bkt/p"},
		"s3 http endpoint kept":    {b: Backend{Provider: "s3", Endpoint: "http://127.0.0.1:1234/", Bucket: "bkt", Prefix: "/x/y/"}, want: "s3:http://127.0.0.1:1234/bkt/x/y"},
		"s3 https endpoint kept":   {b: Backend{Provider: "s3", Endpoint: "https://minio:9000", Bucket: "bkt"}, want: "s3:https://minio:9000/bkt"},
		"s3 without bucket":        {b: Backend{Provider: "s3", Endpoint: "minio:9000"}, wantErr: "s3 backend needs --bucket"},
		"gcs":                      {b: Backend{Provider: "gcs", Bucket: "bkt", Prefix: "p/q"}, want: "gs:bkt:/p/q"},
		"gcs without prefix":       {b: Backend{Provider: "gcs", Bucket: "bkt"}, want: "gs:bkt:/"},
		"azure":                    {b: Backend{Provider: "azure", Bucket: "ctr", Prefix: "p"}, want: "azure:ctr:/p"},
		"swift":                    {b: Backend{Provider: "swift", Bucket: "ctr", Prefix: "p"}, want: "swift:ctr:/p"},
		"b2":                       {b: Backend{Provider: "b2", Bucket: "bkt", Prefix: "p"}, want: "b2:bkt:/p"},
		"rest":                     {b: Backend{Provider: "rest", Endpoint: "http://rest:8000/repo"}, want: "rest:http://rest:8000/repo"},
		"rest without url":         {b: Backend{Provider: "rest"}, wantErr: "rest backend needs --endpoint"},
		"rest credentials in url":  {b: Backend{Provider: "rest", Endpoint: "http://u:hunter22@rest:8000/"}, wantErr: "contains credentials"},
		"rest not a url":           {b: Backend{Provider: "rest", Endpoint: "rest-server"}, wantErr: "is not a URL"},
		"unknown provider":         {b: Backend{Provider: "ftp", Bucket: "x"}, wantErr: `unknown storage provider "ftp": use one of local, s3, gcs, azure, swift, b2, rest`},
		"no provider":              {b: Backend{Bucket: "x"}, wantErr: "set --provider"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.b.Repository()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter22") {
					t.Fatalf("error repeats the password from the URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Repository() = %q, want %q", got, tc.want)
			}
		})
	}
}
