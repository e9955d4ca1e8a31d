package oneroster

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/usersync/usersync"
)

// genBundle returns a 1.1 bulk bundle of n users (a teacher in 20) in 10
// schools, each student in 5 classes of about 25.
func genBundle(n int) map[string]string {
	var orgs, classes, users, enr strings.Builder
	orgs.WriteString("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,,,District,district,D,\n")
	for s := range 10 {
		fmt.Fprintf(&orgs, "s%d,,,School %d,school,S%d,d1\n", s, s, s)
	}
	perPeriod := max(1, n/10/25)
	classes.WriteString("sourcedId,status,dateLastModified,title,classType,schoolSourcedId,courseSourcedId,termSourcedIds\n")
	for s := range 10 {
		for k := range 5 * perPeriod {
			fmt.Fprintf(&classes, "k%d-%d,,,Class %d,scheduled,s%d,c1,t1\n", s, k, k, s)
		}
	}
	users.WriteString("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,email\n")
	enr.WriteString("sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n")
	e := 0
	for i := range n {
		s, li := i%10, i/10
		role := "student"
		if li%20 == 0 {
			role = "teacher"
		}
		fmt.Fprintf(&users, "u%d,,,true,s%d,%s,user%d,Given%d,Family%d,user%d@school.example\n", i, s, role, i, i%3000, i%5000, i)
		if role == "student" {
			for j := range 5 {
				e++
				fmt.Fprintf(&enr, "e%d,,,k%d-%d,s%d,u%d,student\n", e, s, j*perPeriod+(li/25+j)%perPeriod, s, i)
			}
		}
	}
	return map[string]string{
		"manifest.csv":    "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.enrollments,bulk\n",
		"orgs.csv":        orgs.String(),
		"classes.csv":     classes.String(),
		"users.csv":       users.String(),
		"enrollments.csv": enr.String(),
	}
}

// BenchmarkBundle reads a bundle of 100,000 users (and 475,000
// enrollments) through a run of the Mapper, as the Pipeline does, without
// the Pipeline's spool: the Mapper's own cost.
func BenchmarkBundle(b *testing.B) {
	files := genBundle(100_000)
	var infos []usersync.FileInfo
	var size int64
	for name, data := range files {
		infos = append(infos, usersync.FileInfo{Name: name, Size: int64(len(data))})
		size += int64(len(data))
	}
	m, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		ordered, run, err := m.Begin(infos)
		if err != nil {
			b.Fatal(err)
		}
		recs := 0
		for _, f := range ordered {
			rr, err := run.NewReader(strings.NewReader(files[f.Name]), f)
			if err != nil {
				b.Fatal(err)
			}
			for {
				_, err := rr.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				recs++
			}
		}
		if recs != 100_000+95_000*5 {
			b.Fatalf("%d records", recs)
		}
	}
}
