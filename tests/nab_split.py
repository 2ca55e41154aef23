#!/usr/bin/env python3
"""nab_split.py NAB_DIR OUT RESULTS: build the odd and even halves of the
corpus (files in sorted path order, 1-based: odd = 1st, 3rd, ...) as
OUT/odd, OUT/even (symlinked data, filtered labels) with their results in
OUT/odd-res, OUT/even-res, so that nab-score --corpus OUT/odd OUT/odd-res
scores one half (normalised on that half's windows)."""
import json,os,sys,glob
nab=os.path.abspath(sys.argv[1]); out=sys.argv[2]; res=os.path.abspath(sys.argv[3])
files=sorted(glob.glob(nab+"/data/*/*.csv"))
rel=[os.path.relpath(f,nab+"/data") for f in files]
lab=json.load(open(nab+"/labels/combined_windows.json"))
for name,par in (("odd",1),("even",0)):
    c=os.path.join(out,name); os.makedirs(c+"/labels",exist_ok=True)
    r=os.path.join(out,name+"-res")
    sel=[x for i,x in enumerate(rel) if (i+1)%2==par]
    for x in sel:
        for base,src in ((c+"/data",nab+"/data"),(r,res)):
            os.makedirs(os.path.dirname(os.path.join(base,x)),exist_ok=True)
            d=os.path.join(base,x)
            if not os.path.exists(d): os.symlink(os.path.join(src,x),d)
    json.dump({k:v for k,v in lab.items() if k in sel},open(c+"/labels/combined_windows.json","w"))
    os.symlink(nab+"/profiles.json",c+"/profiles.json") if not os.path.exists(c+"/profiles.json") else None
