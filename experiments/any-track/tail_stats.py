#!/usr/bin/python3
"""tail_stats.py: how an accompaniment ends. For each folder of two-track
pieces (the first note-bearing track the melody, the others the
accompaniment): the tunes with accompaniment onsets after the melody's last
onset, those notes, the accompaniment's notes at C5 (MIDI 72) or above, and
how many of them start in the melody's last 4 beats. Real Nottingham
accompaniments have none of any.

    /usr/bin/python3 experiments/any-track/tail_stats.py DIR [DIR ...]
"""
import mido, sys, glob, os
def notes(path):
    m=mido.MidiFile(path); out=[]
    for i,t in enumerate(m.tracks):
        now=0; ons={}
        for msg in t:
            now+=msg.time
            if msg.type=='note_on' and msg.velocity>0: ons[(msg.note)]=now
            elif msg.type in('note_off','note_on') and msg.note in ons:
                out.append((i,msg.note,ons.pop(msg.note),now))
    return m,out
def stats(d):
    n=0; late=0; high=0; files_late=0; lastbar_high=0
    for p in sorted(glob.glob(d+'/*.mid')):
        m,ns=notes(p)
        trks=sorted(set(x[0] for x in ns))
        mel=[x for x in ns if x[0]==trks[0]]; acc=[x for x in ns if x[0]!=trks[0]]
        if not acc: continue
        mel_last_on=max(x[2] for x in mel); mel_end=max(x[3] for x in mel)
        L=[x for x in acc if x[2]>mel_last_on]
        H=[x for x in acc if x[1]>=72]
        n+=1; late+=len(L); files_late+= bool(L); high+=len(H)
        lastbar_high += sum(1 for x in H if x[2]>mel_end-4*m.ticks_per_beat)
    print('%s: %d tunes; %d with accompaniment onsets after the melody\'s last onset (%d notes); %d accompaniment notes at C5 or above, %d of them in the last 4 beats' % (d, n, files_late, late, high, lastbar_high))
for d in sys.argv[1:]: stats(d)
